package io.stratus.kvm.vm;

import io.stratus.kvm.VmmException;
import io.stratus.kvm.boot.KernelLoadException;
import io.stratus.kvm.cpu.HostProfile;
import io.stratus.kvm.devices.ConsoleSink;
import io.stratus.kvm.devices.GuestPowerEvents;
import io.stratus.kvm.devices.Serial8250;
import io.stratus.kvm.memory.DirtyPages;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.sys.Kvm;
import io.stratus.kvm.sys.VcpuExit;
import io.stratus.kvm.sys.VcpuFd;
import io.stratus.kvm.sys.VmFd;
import io.stratus.kvm.snapshot.SnapshotCodec;
import io.stratus.kvm.snapshot.SnapshotConfig;
import io.stratus.kvm.snapshot.SnapshotException;
import io.stratus.kvm.snapshot.VmSnapshot;
import io.stratus.kvm.vcpu.PauseGate;
import io.stratus.kvm.vcpu.Vcpu;
import io.stratus.kvm.virtio.VirtioMmioTransport;
import io.stratus.kvm.virtio.balloon.VirtioBalloon;
import io.stratus.kvm.virtio.rng.VirtioRng;
import io.stratus.kvm.virtio.block.BlockMetrics;
import io.stratus.kvm.virtio.block.VirtioBlock;
import io.stratus.kvm.virtio.net.NetMetrics;
import io.stratus.kvm.virtio.net.VirtioNet;
import io.stratus.kvm.sys.KvmException;
import io.stratus.kvm.vcpu.VcpuListener;
import io.stratus.kvm.vm.Lifecycle.Phase;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A guest on KVM: created from a {@link VmConfig}, started, run until it powers off, resets,
 * fails, or the host stops it, then closed.
 *
 * <pre>{@code
 * try (VirtualMachine vm = VirtualMachine.create(config, console)) {
 *     vm.start();
 *     VmExit exit = vm.awaitExit();
 * }
 * }</pre>
 *
 * <p>The first event that ends the run wins (a power-off racing a host stop reports whichever
 * came first); every vCPU is then taken out of the guest.
 *
 * <p>Built by {@link VmBuilder} from parts ({@link DeviceManager}, {@link MemorySlots}, the vCPUs);
 * its moves are checked against one table ({@link Lifecycle}). Why it is still over 500 lines:
 * everything left here shares the one monitor the lifecycle moves under (pause and resume,
 * snapshot and restore of state, the run's end, and the close protocol with its memory holds,
 * whose waits and interrupts must see the same lock). {@link VcpuThrottle} and {@link HaltProbe}
 * show how a part leaves while sharing the lock; the memory holds can follow them.
 */
public final class VirtualMachine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VirtualMachine.class.getName());
    private static final long PAUSE_TIMEOUT_MILLIS = 10_000;

    /** Where a VM is in its life. */
    public enum State {
        CREATED,
        RUNNING,
        /** vCPUs out of the guest and waiting, devices quiesced: state can be read (snapshots). */
        PAUSED,
        EXITED,
        CLOSED
    }

    private final VmConfig config;
    private final HostProfile host;
    private final Kvm kvm;
    private final VmFd vmFd;
    private final GuestMemory memory;
    private final List<VcpuFd> vcpuFds = new ArrayList<>();
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final DeviceManager devices;
    private final MemorySlots memorySlots;
    private final VcpuListener vcpuEvents = new VcpuEvents();
    private final CompletableFuture<VmExit> exit = new CompletableFuture<>();
    private final PauseGate gate;
    private String effectiveCmdline;
    private Runnable watchdogListener;
    private int unheardWatchdogExpiries;
    private volatile boolean running;
    private final Lifecycle lifecycle;
    private final VcpuThrottle throttle;
    private final HaltProbe haltProbe;
    /** Set once by {@link #close()}; no new memory holds from then on. Guarded by this. */
    private boolean closing;
    /** Threads outside the VM working on its memory, with how many holds each has. Guarded by this. */
    private final Map<Thread, Integer> memoryHolders = new HashMap<>();
    /** Holders {@link #close()} interrupted; their hold's end clears it. Guarded by this. */
    private final Set<Thread> interruptedHolders = new HashSet<>();

    VirtualMachine(VmConfig config, HostProfile host, Kvm kvm, VmFd vmFd, GuestMemory memory, DeviceManager devices) {
        this.config = config;
        this.host = host;
        this.kvm = kvm;
        this.vmFd = vmFd;
        this.memory = memory;
        this.devices = devices;
        this.memorySlots = new MemorySlots(vmFd, memory);
        this.gate = new PauseGate(config.vcpus());
        this.lifecycle = new Lifecycle(config.name());
        this.throttle = new VcpuThrottle(config.name(), this, gate, vcpus, exit, this::state);
        this.haltProbe = new HaltProbe(config.name(), this, vcpus, exit, this::state);
    }

    /**
     * Builds the VM: KVM objects, guest memory, the loaded kernel and initrd, boot structures,
     * ACPI and MP tables, devices and vCPUs. Nothing runs until {@link #start()}.
     *
     * @param console receives the guest's serial output
     * @throws VmConfigException the host cannot give what the config asks for
     * @throws KernelLoadException the kernel or initrd cannot be loaded
     * @throws io.stratus.kvm.sys.KvmException KVM refused a step
     */
    public static VirtualMachine create(VmConfig config, ConsoleSink console) {
        return VmBuilder.assemble(config, console, c -> GuestMemory.x86(c.memoryBytes(), c.mergeableMemory()),
                VmBuilder::loadAndEnter);
    }

    /**
     * Builds a VM from a snapshot written by {@link #snapshot}: guest RAM is mapped from the
     * snapshot's memory file (pages load as the guest touches them), every vCPU, interrupt
     * controller, timer, clock and device goes back to where it was, and the same disks are
     * attached again. {@link #start()} then continues the guest; it does not boot again.
     *
     * @throws SnapshotException the snapshot is missing, truncated, corrupt or of another version
     */
    public static VirtualMachine restore(Path snapshotDir, ConsoleSink console) {
        VmSnapshot snapshot = SnapshotCodec.read(snapshotDir);
        SnapshotConfig saved = snapshot.config();
        Path memoryFile = snapshotDir.resolve(SnapshotCodec.MEMORY_FILE);
        long memorySize;
        try {
            memorySize = Files.size(memoryFile);
        } catch (IOException e) {
            throw new SnapshotException("snapshot " + snapshotDir + " has no readable " + SnapshotCodec.MEMORY_FILE
                    + ": " + e.getMessage(), e);
        }
        if (memorySize != saved.memoryBytes()) {
            throw new SnapshotException("snapshot " + snapshotDir + " is truncated: " + SnapshotCodec.MEMORY_FILE
                    + " has " + memorySize + " bytes, the guest had " + saved.memoryBytes());
        }
        VmConfig.Builder b = VmConfig.builder(Path.of(saved.kernel())).name(saved.name())
                .cmdline(saved.cmdline()).memoryBytes(saved.memoryBytes()).vcpus(saved.vcpus())
                .mergeableMemory(saved.mergeableMemory()).entropy(saved.entropy())
                .volumeSlots(saved.volumeSlots());
        if (saved.balloonStatsMillis() > 0) {
            b.balloon(Duration.ofMillis(saved.balloonStatsMillis()));
        } else {
            b.noBalloon();
        }
        for (SnapshotConfig.Disk d : saved.disks()) {
            // A volume's disk connects to its export again; one that cannot be reached fails the
            // restore (DiskImageException), as a missing image file does.
            b.disk(d.volume().volume().map(DiskConfig::nbd)
                    .orElseGet(() -> new DiskConfig(Path.of(d.path()), d.readOnly(), d.id())));
        }
        for (SnapshotConfig.Net n : saved.nets()) {
            b.net(new NetConfig(n.tap(), n.mac()));
        }
        return VmBuilder.assemble(b.build(), console,
                c -> GuestMemory.x86FromFile(memoryFile, c.memoryBytes(), c.mergeableMemory()),
                vm -> {
                    requireSavedCapacities(vm, saved, snapshotDir);
                    vm.effectiveCmdline = saved.cmdline();
                    SnapshotState.apply(vm, snapshot);
                });
    }

    /** A volume's disk must still have the size the guest knows: a guest finding its root disk changed under it corrupts it. */
    private static void requireSavedCapacities(VirtualMachine vm, SnapshotConfig saved, Path snapshotDir) {
        List<VirtioBlock> blocks = vm.devices().blockDevices();
        for (int i = 0; i < saved.disks().size(); i++) {
            SnapshotConfig.Disk d = saved.disks().get(i);
            long now = blocks.get(i).backend().capacity();
            if (d.volume().volume().isPresent() && now != d.volume().capacity()) {
                throw new SnapshotException("snapshot " + snapshotDir + ": disk " + d.id() + " on "
                        + d.volume().volume().get() + " now has " + now + " bytes, the guest knew "
                        + d.volume().capacity() + "; it is not restored onto a disk of another size");
            }
        }
    }

    /**
     * Builds a VM that receives a running guest by live migration
     * ({@link io.stratus.kvm.migration.MigrationTarget}): the devices and vCPUs of {@link #create},
     * guest RAM all zeros, no kernel loaded. Guest RAM arrives over the migration stream, then
     * {@link #restoreState} sets vCPUs, interrupt controllers, timers, clock and devices, and
     * {@link #start()} continues the guest.
     *
     * @param config the configuration the source VM was built from
     */
    public static VirtualMachine createIncoming(VmConfig config, ConsoleSink console) {
        return VmBuilder.assemble(config, console, c -> GuestMemory.x86(c.memoryBytes(), c.mergeableMemory()),
                vm -> {
                });
    }

    /** What the guest's power-off and reset requests (ACPI, i8042) do: end the run. */
    GuestPowerEvents powerEvents() {
        return new GuestPowerEvents() {
            @Override
            public void powerOff(String source) {
                finish(VmExit.of(VmExit.Reason.POWER_OFF, source));
            }

            @Override
            public void reset(String source) {
                finish(VmExit.of(VmExit.Reason.RESET, source));
            }
        };
    }

    /**
     * Calls {@code listener} (on the watchdog's timer thread) each time the guest's IB700 runs
     * out; the VM itself does nothing more, its owner decides. Expiries before a listener was set
     * are passed to it now.
     */
    public void onWatchdog(Runnable listener) {
        int unheard;
        synchronized (this) {
            watchdogListener = listener;
            unheard = unheardWatchdogExpiries;
            unheardWatchdogExpiries = 0;
        }
        for (int i = 0; i < unheard; i++) {
            listener.run();
        }
    }

    void watchdogExpired() {
        LOG.log(Level.INFO, "{0}: the guest's watchdog ran out", config.name());
        Runnable listener;
        synchronized (this) {
            listener = watchdogListener;
            if (listener == null) {
                unheardWatchdogExpiries++;
                return;
            }
        }
        listener.run();
    }

    /**
     * The empty or filled volume slots ({@link VmConfig#volumeSlots()}), in the order the guest
     * sees them: {@link VirtioBlock#fill} and {@link VirtioBlock#empty} attach and detach volumes.
     */
    public List<VirtioBlock> volumeSlots() {
        return List.copyOf(devices.volumeSlots());
    }

    /** The entropy device, if the guest has one. */
    public Optional<VirtioRng> entropy() {
        return devices.entropy();
    }

    /** The balloon device, if the guest has one: set targets, read the guest's memory statistics. */
    public Optional<VirtioBalloon> balloon() {
        return devices.balloon();
    }

    /** Counters of the virtio-net devices, in device order. */
    public List<NetMetrics.Snapshot> netMetrics() {
        return devices.netDevices().stream().map(VirtioNet::metrics).toList();
    }

    /** CPU time the guest's vCPU threads have used (guest and VMM exit handling together). */
    public Duration vcpuTime() {
        long nanos = 0;
        for (Vcpu v : vcpus) {
            nanos += v.cpuTimeNanos();
        }
        return Duration.ofNanos(nanos);
    }

    /**
     * The virtio-blk devices, in disk order (vda first): their images and, for a live migration
     * that moves the disks, their dirty-block tracking.
     */
    public List<VirtioBlock> blockDevices() {
        return List.copyOf(devices.blockDevices());
    }

    /** Counters of the virtio-blk devices, in disk order. */
    public List<BlockMetrics.Snapshot> blockMetrics() {
        return devices.blockDevices().stream().map(VirtioBlock::metrics).toList();
    }

    /** What the vCPU threads report to; one for all of them. */
    VcpuListener vcpuListener() {
        return vcpuEvents;
    }

    /** Reports from the vCPU threads. */
    private final class VcpuEvents implements VcpuListener {
        @Override
        public boolean running() {
            return running;
        }

        @Override
        public void tripleFault(int vcpu) {
            finish(VmExit.of(VmExit.Reason.TRIPLE_FAULT, "triple fault on vCPU " + vcpu));
        }

        @Override
        public void systemEvent(int vcpu, int type) {
            switch (type) {
                case VcpuExit.SystemEvent.SHUTDOWN -> finish(VmExit.of(VmExit.Reason.POWER_OFF, "system event"));
                case VcpuExit.SystemEvent.RESET -> finish(VmExit.of(VmExit.Reason.RESET, "system event"));
                case VcpuExit.SystemEvent.CRASH -> finish(VmExit.of(VmExit.Reason.CRASH, "system event on vCPU "
                        + vcpu));
                default -> finish(VmExit.failed(new VmmException("vCPU " + vcpu + ": unknown system event " + type)));
            }
        }

        @Override
        public void haltProbed(int vcpu, boolean isStuck) {
            if (haltProbe.probed(vcpu, isStuck)) {
                finish(VmExit.of(VmExit.Reason.HALTED, "all vCPUs halted with interrupts disabled"));
            }
        }

        @Override
        public void failed(int vcpu, VmmException error) {
            finish(VmExit.failed(error));
        }
    }

    /** Starts the vCPUs. */
    public synchronized void start() {
        if (lifecycle.phase() != Phase.CREATED || closing) {
            throw new IllegalStateException("VM " + config.name() + " is " + (closing ? "closing" : state())
                    + ", not CREATED");
        }
        launchVcpus(Phase.RUNNING);
        LOG.log(Level.INFO, "{0}: started with {1} vCPU(s) and {2}", config.name(), config.vcpus(),
                VmConfig.describeBytes(config.memoryBytes()));
    }

    /**
     * Starts the vCPU threads of a VM that has not run yet, but holds them at the pause gate before
     * they first enter the guest: the VM is {@link State#PAUSED} and {@link #resume()} then lets the
     * guest run at once, without creating a thread. A live migration's target does this while the
     * pages arrive, so that creating and preparing the threads is not part of the downtime.
     * {@link #restoreState} is still allowed until {@link #resume()}.
     */
    public synchronized void startHeld() {
        if (lifecycle.phase() != Phase.CREATED || closing) {
            throw new IllegalStateException("VM " + config.name() + " is " + (closing ? "closing" : state())
                    + ", not CREATED");
        }
        // Closed before any thread starts: no vCPU enters the guest before resume().
        gate.close();
        launchVcpus(Phase.HELD);
        LOG.log(Level.DEBUG, "{0}: vCPU threads started, held before the guest", config.name());
    }

    private void launchVcpus(Phase next) {
        running = true;
        lifecycle.move(next);
        for (Vcpu v : vcpus) {
            v.start();
        }
        haltProbe.start();
    }

    /**
     * Starts dirty-page tracking for live migration: KVM logs the pages the guest writes (the memory
     * slots are registered again with {@code KVM_MEM_LOG_DIRTY_PAGES}), and guest RAM records the
     * pages the VMM's devices write (used rings, block reads, received frames, balloon discards),
     * which KVM's log does not see. {@link #takeDirtyPages()} hands both over. A no-op when already
     * tracking.
     *
     * <p>Not tracked: writes into guest RAM by anything outside this VMM's device code (another
     * process mapping it, a debugger). Pages written before this call are not reported: a
     * migration sends all of RAM once after starting.
     */
    public synchronized void startDirtyTracking() {
        if (lifecycle.phase() == Phase.CLOSED) {
            throw new IllegalStateException("VM " + config.name() + " is closed");
        }
        memorySlots.startDirtyTracking();
    }

    /**
     * The pages written since tracking started or since the last call (by the guest, per KVM's
     * dirty log, or by the VMM's devices), clearing both logs. Safe while the guest runs: a page
     * written meanwhile is in this answer or the next.
     */
    public synchronized DirtyPages takeDirtyPages() {
        if (!memorySlots.tracking()) {
            throw new IllegalStateException("VM " + config.name() + " is not tracking dirty pages");
        }
        return memorySlots.takeDirtyPages();
    }

    /** Stops dirty-page tracking (the slots lose {@code KVM_MEM_LOG_DIRTY_PAGES}); a no-op when not tracking. */
    public synchronized void stopDirtyTracking() {
        if (lifecycle.phase() == Phase.CLOSED) {
            return;
        }
        memorySlots.stopDirtyTracking();
    }

    /**
     * Slows the running guest down, for a live migration whose guest dirties memory faster than
     * the link carries it: its vCPUs are held out of the guest for {@code percent} of every
     * 100 ms (devices keep running, guest time goes on). 0 ends the throttling and returns once
     * the vCPUs are let back in. {@link #pause()} ends it too.
     *
     * @param percent 0 to 99
     */
    public void throttle(int percent) throws InterruptedException {
        throttle.set(percent);
    }

    /** The share of time the vCPUs are held out of the guest, in percent (0 when not throttled). */
    public int throttlePercent() {
        return throttle.percent();
    }

    /**
     * Pauses the guest: every vCPU leaves the guest and waits, the devices finish the requests in
     * progress and take no new ones, and kvm-clock is told the vCPUs were stopped. Guest time stands
     * still for the guest's watchdogs; {@link #resume()} continues it.
     */
    public void pause() throws InterruptedException {
        throttle(0);
        synchronized (this) {
            if (lifecycle.phase() != Phase.RUNNING) {
                throw new IllegalStateException("VM " + config.name() + " is " + state() + ", not RUNNING");
            }
            gate.close();
        }
        if (!gate.awaitAll(() -> vcpus.forEach(Vcpu::kick), PAUSE_TIMEOUT_MILLIS)) {
            gate.open();
            throw new VmmException("VM " + config.name() + ": vCPUs did not leave the guest within "
                    + PAUSE_TIMEOUT_MILLIS + " ms; not paused");
        }
        synchronized (this) {
            if (lifecycle.phase() != Phase.RUNNING) {
                // While the vCPUs left the guest the run ended (and was joined: EXITED) or another
                // pause() won: the same refusal as above, before any device is touched, not the
                // table's "cannot go from EXITED to PAUSED" after the devices were paused.
                throw new IllegalStateException("VM " + config.name() + " is " + state() + ", not RUNNING");
            }
            devices.pause();
            for (VcpuFd fd : vcpuFds) {
                fd.kvmclockCtrl();
            }
            devices.suspendWatchdog();
            lifecycle.move(Phase.PAUSED);
        }
        // DEBUG, not INFO: a live migration's downtime runs through here, and a console log line
        // costs from 0.4 ms up to several on a busy host.
        LOG.log(Level.DEBUG, "{0}: paused", config.name());
    }

    /** Continues a paused guest, or lets one held by {@link #startHeld()} into the guest for the first time. */
    public synchronized void resume() {
        if (state() != State.PAUSED) {
            throw new IllegalStateException("VM " + config.name() + " is " + state() + ", not PAUSED");
        }
        if (lifecycle.phase() == Phase.HELD) {
            // The devices never ran paused: restoreState left them as the source had them.
            lifecycle.move(Phase.RUNNING);
            gate.open();
            return;
        }
        devices.resume();
        lifecycle.move(Phase.RUNNING);
        gate.open();
        LOG.log(Level.DEBUG, "{0}: resumed", config.name());
    }

    /**
     * Writes a snapshot of the paused guest to {@code dir} (created if needed): guest RAM in
     * {@code memory.bin} (all-zero pages left as holes) and every other piece of state in the
     * versioned {@code state.bin}. The guest stays paused; resume it or close it afterwards.
     */
    public synchronized void snapshot(Path dir) throws IOException {
        if (state() != State.PAUSED) {
            throw new IllegalStateException("VM " + config.name() + " is " + state() + "; pause it before a snapshot");
        }
        Files.createDirectories(dir);
        // The disks as the paused guest left them, durable (a qcow2 image writes its metadata back):
        // restore reattaches the same files, even after this process is gone.
        devices.flushDisks();
        devices.flushVolumes();
        VmSnapshot snapshot = SnapshotState.capture(this);
        // Memory first, state last: a state file only ever names a complete memory file.
        Files.deleteIfExists(dir.resolve(SnapshotCodec.STATE_FILE));
        memory.saveTo(dir.resolve(SnapshotCodec.MEMORY_FILE));
        SnapshotCodec.write(snapshot, dir);
        LOG.log(Level.INFO, "{0}: snapshot written to {1}", config.name(), dir);
    }

    /**
     * The state of the paused guest (vCPUs, interrupt controllers, PIT, clock, serial port, virtio
     * transports and the configuration it runs with), as a snapshot holds it, for live migration.
     * The disks are flushed first, so that a target opening the same files sees every completed
     * write. The guest stays paused.
     */
    public synchronized VmSnapshot captureState() throws IOException {
        if (state() != State.PAUSED) {
            throw new IllegalStateException("VM " + config.name() + " is " + state() + "; pause it before capturing state");
        }
        devices.flushDisks();
        // A volume stays on its server and the target connects to it: what the guest wrote must be there.
        devices.flushVolumes();
        return SnapshotState.capture(this);
    }

    /**
     * Sets a VM built by {@link #createIncoming} to the state {@link #captureState} read from the
     * source; its guest RAM must hold the source's by now. {@link #start()} then continues the
     * guest, or {@link #resume()} where its vCPU threads were started held ({@link #startHeld()}).
     *
     * @throws SnapshotException the state does not fit this VM's configuration
     */
    public synchronized void restoreState(VmSnapshot snapshot) {
        if (lifecycle.phase() != Phase.CREATED && lifecycle.phase() != Phase.HELD) {
            throw new IllegalStateException("VM " + config.name() + " is " + state()
                    + ", neither CREATED nor held by startHeld()");
        }
        SnapshotConfig saved = snapshot.config();
        if (saved.memoryBytes() != config.memoryBytes() || saved.vcpus() != config.vcpus()
                || saved.disks().size() != config.disks().size() || saved.nets().size() != config.nets().size()
                || (saved.balloonStatsMillis() > 0) != config.balloonStatsInterval().isPresent()
                || saved.entropy() != config.entropy()) {
            throw new SnapshotException("the incoming guest (" + VmConfig.describeBytes(saved.memoryBytes()) + ", "
                    + saved.vcpus() + " vCPUs, " + saved.disks().size() + " disks, " + saved.nets().size()
                    + " network devices, " + (saved.balloonStatsMillis() > 0 ? "a" : "no") + " balloon, "
                    + (saved.entropy() ? "an" : "no") + " entropy device) does not match " + config.name() + " ("
                    + VmConfig.describeBytes(config.memoryBytes()) + ", " + config.vcpus() + " vCPUs, "
                    + config.disks().size() + " disks, " + config.nets().size() + " network devices, "
                    + (config.balloonStatsInterval().isPresent() ? "a" : "no") + " balloon, "
                    + (config.entropy() ? "an" : "no") + " entropy device)");
        }
        SnapshotState.apply(this, snapshot);
        effectiveCmdline = saved.cmdline();
    }

    /** Ends the run from the host side (the guest does not shut down; it simply stops). Idempotent. */
    public void stop() {
        finish(VmExit.of(VmExit.Reason.STOPPED, "stopped by the host"));
    }

    private void finish(VmExit result) {
        if (exit.complete(result)) {
            if (result.reason() == VmExit.Reason.FAILED) {
                LOG.log(Level.WARNING, "{0}: {1}", config.name(), result.detail());
            } else {
                LOG.log(Level.INFO, "{0}: {1} ({2})", config.name(), result.reason(), result.detail());
            }
        }
        running = false;
        devices.closeWatchdog();
        // Paused vCPUs wait at the gate; let them out so that they see the run is over.
        gate.release();
        for (Vcpu v : vcpus) {
            v.kick();
        }
    }

    /** Waits until the run ends and every vCPU has left the guest. */
    public VmExit awaitExit() throws InterruptedException {
        try {
            VmExit result = exit.get();
            joinVcpus();
            return result;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Like {@link #awaitExit()}, giving up after {@code timeout}. */
    public Optional<VmExit> awaitExit(Duration timeout) throws InterruptedException {
        try {
            VmExit result = exit.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            joinVcpus();
            return Optional.of(result);
        } catch (TimeoutException e) {
            return Optional.empty();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    private void joinVcpus() throws InterruptedException {
        for (Vcpu v : vcpus) {
            while (!v.join(1, TimeUnit.SECONDS)) {
                // A vCPU that has not left yet missed nothing: kicks are never lost, but repeat them
                // in case it had not yet published its kick handle.
                v.kick();
            }
        }
        synchronized (this) {
            Phase now = lifecycle.phase();
            if (now == Phase.RUNNING || now == Phase.PAUSED || now == Phase.HELD) {
                lifecycle.move(Phase.EXITED);
            }
        }
    }

    /** Offers console input to the guest's UART; returns how many bytes it took. */
    public int sendConsoleInput(byte[] bytes, int offset, int length) {
        return devices.serial().enqueueInput(bytes, offset, length);
    }

    public VmConfig config() {
        return config;
    }

    /** The command line the guest kernel received, with what the VMM added. */
    public String effectiveCmdline() {
        return effectiveCmdline;
    }

    public State state() {
        return lifecycle.state();
    }

    /** Guest RAM, for tests and snapshot code. */
    public GuestMemory memory() {
        return memory;
    }

    VmFd vmFd() {
        return vmFd;
    }

    Kvm kvm() {
        return kvm;
    }

    List<VcpuFd> vcpuFds() {
        return vcpuFds;
    }

    Serial8250 serial() {
        return devices.serial();
    }

    List<VirtioMmioTransport> transports() {
        return devices.transports();
    }

    List<Vcpu> vcpus() {
        return vcpus;
    }

    DeviceManager devices() {
        return devices;
    }

    MemorySlots memorySlots() {
        return memorySlots;
    }

    PauseGate gate() {
        return gate;
    }

    HostProfile host() {
        return host;
    }

    void setEffectiveCmdline(String cmdline) {
        effectiveCmdline = cmdline;
    }

    /**
     * Keeps guest memory mapped and the VM's descriptors open while the calling thread works on
     * them from outside the VM (a migration streams guest RAM to or from here). A {@link #close()}
     * on another thread interrupts the holding thread and frees nothing until every hold has
     * ended: the holder fails at its next blocking step instead of touching unmapped memory, which
     * would crash the whole process. End the hold in a {@code finally}.
     *
     * @throws IllegalStateException the VM is closed or being closed
     */
    public synchronized MemoryHold holdMemory() {
        if (closing || lifecycle.phase() == Phase.CLOSED) {
            throw new IllegalStateException("VM " + config.name() + " is closed");
        }
        Thread holder = Thread.currentThread();
        memoryHolders.merge(holder, 1, Integer::sum);
        return new MemoryHold(holder);
    }

    /** One thread's claim on the VM's memory, from {@link #holdMemory()} until its {@link #close()}. */
    public final class MemoryHold implements AutoCloseable {
        private final Thread holder;
        private boolean ended;

        private MemoryHold(Thread holder) {
            this.holder = holder;
        }

        /** Whether the VM is being closed: the hold's work was interrupted for it and should end. */
        public boolean cancelled() {
            synchronized (VirtualMachine.this) {
                return closing;
            }
        }

        /** Ends the hold; the interrupt a {@link VirtualMachine#close()} sent its thread is cleared. */
        @Override
        public void close() {
            synchronized (VirtualMachine.this) {
                if (ended) {
                    return;
                }
                ended = true;
                if (memoryHolders.merge(holder, -1, Integer::sum) == 0) {
                    memoryHolders.remove(holder);
                    if (interruptedHolders.remove(holder) && holder == Thread.currentThread()) {
                        // The interrupt was the closing VM's, not the caller's: it must not outlive the hold.
                        Thread.interrupted();
                    }
                }
                VirtualMachine.this.notifyAll();
            }
        }
    }

    /**
     * Stops the guest if it runs, waits for its vCPUs and for the threads that hold its memory
     * ({@link #holdMemory()}, which it interrupts), and frees every host resource. A second
     * caller waits for the first to finish.
     *
     * @throws IllegalStateException the calling thread holds the VM's memory itself
     */
    @Override
    public void close() {
        boolean started;
        synchronized (this) {
            if (memoryHolders.containsKey(Thread.currentThread())) {
                throw new IllegalStateException("VM " + config.name() + " closed by a thread that holds its memory:"
                        + " end the hold first");
            }
            if (closing || lifecycle.phase() == Phase.CLOSED) {
                awaitClosed();
                return;
            }
            closing = true;
            // Nothing starts once closing is set, so this stays true or false.
            started = lifecycle.phase() != Phase.CREATED;
        }
        if (started) {
            stop();
            // Guest memory and kvm_run pages must outlive every vCPU thread that can touch them,
            // so wait them out even if interrupted.
            boolean interrupted = false;
            while (true) {
                try {
                    joinVcpus();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        awaitMemoryHolds();
        release();
    }

    /** Interrupts the threads that hold guest memory, every second, until each has let go. */
    private synchronized void awaitMemoryHolds() {
        boolean interrupted = false;
        while (!memoryHolders.isEmpty()) {
            for (Thread holder : memoryHolders.keySet()) {
                interruptedHolders.add(holder);
                holder.interrupt();
            }
            try {
                wait(1000);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void awaitClosed() {
        boolean interrupted = false;
        while (lifecycle.phase() != Phase.CLOSED) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    synchronized void release() {
        lifecycle.move(Phase.CLOSED);
        notifyAll();
        // Device threads touch guest memory: stop them before anything they use goes away.
        devices.closeDevices();
        for (VcpuFd fd : vcpuFds) {
            fd.close();
        }
        devices.closeInterruptLines();
        vmFd.close();
        memory.close();
        kvm.close();
    }
}
