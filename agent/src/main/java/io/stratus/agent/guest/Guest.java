package io.stratus.agent.guest;

import io.stratus.kvm.virtio.balloon.VirtioBalloon;
import io.stratus.kvm.virtio.block.BlockMetrics;
import io.stratus.kvm.virtio.net.NetMetrics;
import io.stratus.kvm.vm.VirtualMachine;

/** One VM of an instance: a boot, a restore, or the new size after a resize each make a new one. */
public final class Guest {
    private final String instanceId;
    private final VirtualMachine vm;
    private final ConsoleLog console;

    Guest(String instanceId, VirtualMachine vm, ConsoleLog console) {
        this.instanceId = instanceId;
        this.vm = vm;
        this.console = console;
    }

    public String instanceId() {
        return instanceId;
    }

    public VirtualMachine vm() {
        return vm;
    }

    public ConsoleLog console() {
        return console;
    }

    public boolean paused() {
        return vm.state() == VirtualMachine.State.PAUSED;
    }

    /** This VM's counters since it started. */
    public GuestUsage usage() {
        long rb = 0;
        long wb = 0;
        long ro = 0;
        long wo = 0;
        for (BlockMetrics.Snapshot b : vm.blockMetrics()) {
            rb += b.readBytes();
            wb += b.writeBytes();
            ro += b.readOps();
            wo += b.writeOps();
        }
        long rxb = 0;
        long txb = 0;
        long rxp = 0;
        long txp = 0;
        for (NetMetrics.Snapshot n : vm.netMetrics()) {
            rxb += n.rxBytes();
            txb += n.txBytes();
            rxp += n.rxPackets();
            txp += n.txPackets();
        }
        long memory = vm.config().memoryBytes();
        long actual = vm.balloon().map(b -> memory - b.actualBytes()).orElse(memory);
        long available = vm.balloon().flatMap(VirtioBalloon::stats).map(VirtioBalloon.MemoryStats::available)
                .orElse(0L);
        return new GuestUsage(vm.vcpuTime().toNanos() / 1e9, rb, wb, ro, wo, rxb, txb, rxp, txp, actual, available);
    }
}
