package io.stratus.kvm.snapshot;

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
}
