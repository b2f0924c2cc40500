package io.stratus.kvm.snapshot;

import io.stratus.kvm.devices.SerialState;
import io.stratus.kvm.persist.StateReader;
import io.stratus.kvm.persist.StateWriter;
import io.stratus.kvm.virtio.VirtioTransportState;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a paused guest was: each part's own state record, composed. The vCPUs and the VM-wide
 * KVM state ({@link MachineState}), then the devices in the order the VM attached them: the
 * serial port, then every virtio-mmio transport (each with its queues and its device's state).
 */
public record GuestState(List<VcpuState> vcpus, MachineState machine, SerialState serial,
                         List<VirtioTransportState> transports) {
    public GuestState {
        vcpus = List.copyOf(vcpus);
        transports = List.copyOf(transports);
    }

    void writeTo(StateWriter out) {
        out.writeCount(vcpus.size());
        for (VcpuState v : vcpus) {
            v.writeTo(out);
        }
        machine.writeTo(out);
        serial.writeTo(out);
        out.writeCount(transports.size());
        for (VirtioTransportState t : transports) {
            t.writeTo(out);
        }
    }

    static GuestState readFrom(StateReader in) {
        List<VcpuState> vcpus = new ArrayList<>();
        for (int i = in.readCount(); i > 0; i--) {
            vcpus.add(VcpuState.readFrom(in));
        }
        MachineState machine = MachineState.readFrom(in);
        SerialState serial = SerialState.readFrom(in);
        List<VirtioTransportState> transports = new ArrayList<>();
        for (int i = in.readCount(); i > 0; i--) {
            transports.add(VirtioTransportState.readFrom(in));
        }
        return new GuestState(vcpus, machine, serial, transports);
    }
}
