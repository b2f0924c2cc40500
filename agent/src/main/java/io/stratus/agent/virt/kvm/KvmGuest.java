package io.stratus.agent.virt.kvm;

import io.stratus.agent.virt.GuestExit;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.GuestUsage;
import io.stratus.agent.virt.MemoryFootprint;
import io.stratus.agent.virt.VirtualGuest;
import io.stratus.kvm.memory.HostPageFlags;
import io.stratus.kvm.memory.PageFootprint;
import io.stratus.kvm.virtio.balloon.VirtioBalloon;
import io.stratus.kvm.virtio.block.BlockMetrics;
import io.stratus.kvm.virtio.net.NetMetrics;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmExit;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/** A guest in this JVM's VMM. */
public final class KvmGuest implements VirtualGuest {
    private final VirtualMachine vm;
    private final KvmVolumes volumes;

    KvmGuest(VirtualMachine vm, KvmVolumes volumes) {
        this.vm = vm;
        this.volumes = volumes;
    }

    KvmGuest(VirtualMachine vm) {
        this(vm, new KvmVolumes(vm));
    }

    /** The VM itself, for the live migration stream (the KVM driver's own protocol). */
    public VirtualMachine vm() {
        return vm;
    }

    @Override
    public void pause() throws InterruptedException {
        vm.pause();
    }

    @Override
    public void resume() {
        vm.resume();
    }

    /** The VM's IB700 ran out (kvm-runtime's timer thread): the agent takes the action. */
    @Override
    public void onWatchdog(Runnable listener) {
        vm.onWatchdog(listener);
    }

    @Override
    public boolean paused() {
        return vm.state() == VirtualMachine.State.PAUSED;
    }

    @Override
    public void stop() {
        vm.stop();
        vm.close();
    }

    /** The guest lives in the agent's JVM: it cannot outlive it. */
    @Override
    public void detach() {
        stop();
    }

    /** The UART's receive FIFO takes what fits; the guest's driver drains it on its interrupt. */
    @Override
    public int consoleInput(byte[] bytes, int offset, int length) {
        return vm.sendConsoleInput(bytes, offset, length);
    }

    @Override
    public GuestExit awaitExit() throws InterruptedException {
        return exit(vm.awaitExit());
    }

    static GuestExit exit(VmExit e) {
        GuestExit.Reason reason = switch (e.reason()) {
            case POWER_OFF -> GuestExit.Reason.POWER_OFF;
            case RESET -> GuestExit.Reason.RESET;
            case HALTED -> GuestExit.Reason.HALTED;
            case TRIPLE_FAULT -> GuestExit.Reason.TRIPLE_FAULT;
            case CRASH -> GuestExit.Reason.CRASH;
            case STOPPED -> GuestExit.Reason.STOPPED;
            case FAILED -> GuestExit.Reason.FAILED;
        };
        return new GuestExit(reason, e.detail());
    }

    @Override
    public GuestUsage usage() {
        long rb = 0;
        long wb = 0;
        long ro = 0;
        long wo = 0;
        List<BlockMetrics.Snapshot> disks = new ArrayList<>(vm.blockMetrics());
        vm.volumeSlots().forEach(s -> disks.add(s.metrics()));
        for (BlockMetrics.Snapshot b : disks) {
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

    /** Walks the page tables of the guest's RAM: seconds for a large guest, so callers cache it. */
    @Override
    public Optional<MemoryFootprint> footprint() {
        PageFootprint f = vm.memory().footprint(HostPageFlags.ofThisProcess());
        return Optional.of(new MemoryFootprint(f.residentBytes(), f.ksmBytes(), f.privateBytes()));
    }

    @Override
    public boolean entropyDevice() {
        return vm.entropy().isPresent();
    }

    @Override
    public void snapshot(Path dir) throws IOException, InterruptedException {
        if (!paused()) {
            vm.pause();
        }
        vm.snapshot(dir);
        volumes.save(dir);
    }

    /** Fills a free volume slot: the guest's virtio_blk sees the slot's capacity change from 0. */
    @Override
    public void attachVolume(GuestSpec.Volume volume) {
        volumes.attach(vm.config().name(), volume);
    }

    /** Flushes the attachment's volume, then empties its slot (capacity 0 again). */
    @Override
    public void detachVolume(String attachmentId) {
        volumes.detach(attachmentId);
    }

    /** Which of {@code attachments} each slot holds: the migration target builds the same layout. */
    @Override
    public List<String> volumeSlots(Collection<String> attachments) {
        return volumes.layout(attachments);
    }
}
