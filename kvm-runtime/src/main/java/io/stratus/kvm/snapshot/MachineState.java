package io.stratus.kvm.snapshot;

import io.stratus.kvm.persist.StateReader;
import io.stratus.kvm.persist.StateWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * The VM-wide state KVM keeps: the in-kernel PICs and IOAPIC ({@code kvm_irqchip}, one per
 * part), the PIT ({@code kvm_pit_state2}) and kvm-clock.
 *
 * @param clockNanos the kvm-clock value when the guest was paused
 */
public record MachineState(List<byte[]> irqchips, byte[] pit, long clockNanos) {
    public MachineState {
        irqchips = irqchips.stream().map(byte[]::clone).toList();
        pit = pit.clone();
    }

    @Override
    public byte[] pit() {
        return pit.clone();
    }

    void writeTo(StateWriter out) {
        out.writeCount(irqchips.size());
        for (byte[] chip : irqchips) {
            out.writeBlob(chip);
        }
        out.writeBlob(pit);
        out.writeLong(clockNanos);
    }

    static MachineState readFrom(StateReader in) {
        List<byte[]> chips = new ArrayList<>();
        for (int i = in.readCount(); i > 0; i--) {
            chips.add(in.readBlob());
        }
        return new MachineState(chips, in.readBlob(), in.readLong());
    }
}
