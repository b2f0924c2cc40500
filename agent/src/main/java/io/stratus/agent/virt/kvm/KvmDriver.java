package io.stratus.agent.virt.kvm;

import io.stratus.agent.virt.ConsoleOutput;
import io.stratus.agent.virt.DriverCapabilities.Traits;
import io.stratus.agent.virt.DriverCapabilities;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorDriver;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.MigrationLimits;
import io.stratus.agent.virt.MigrationOutcome;
import io.stratus.agent.virt.MigrationPipe;
import io.stratus.agent.virt.VirtualGuest;
import io.stratus.kvm.VmmException;
import io.stratus.kvm.boot.KernelLoadException;
import io.stratus.kvm.devices.ConsoleSink;
import io.stratus.kvm.migration.MigrationResult;
import io.stratus.kvm.migration.MigrationSettings;
import io.stratus.kvm.migration.MigrationSource;
import io.stratus.kvm.snapshot.SnapshotException;
import io.stratus.kvm.sys.Kvm;
import io.stratus.kvm.virtio.block.DiskFormat;
import io.stratus.kvm.virtio.block.DiskImageException;
import io.stratus.kvm.virtio.rng.EntropyRate;
import io.stratus.kvm.vm.DiskConfig;
import io.stratus.kvm.vm.NetConfig;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import io.stratus.kvm.vm.VmConfigException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Supplier;

/** The in-JVM VMM (kvm-runtime) on /dev/kvm: the product's engine. */
public final class KvmDriver implements HypervisorDriver {
    private final DriverCapabilities capabilities;
    private final Optional<EntropyRate> entropyRate;

    private KvmDriver(DriverCapabilities capabilities, Optional<EntropyRate> entropyRate) {
        this.capabilities = capabilities;
        this.entropyRate = entropyRate;
    }

    /**
     * The driver, or why it cannot run here (the device is missing or lacks what the VMM needs).
     *
     * @param entropyBytesPerSecond how fast each guest may draw from its entropy device; empty: no limit
     */
    public static Result probe(Path device, OptionalLong entropyBytesPerSecond) {
        Optional<String> unavailable = Kvm.unavailableReason(device);
        if (unavailable.isPresent()) {
            return new Result(Optional.empty(), unavailable.get());
        }
        DriverCapabilities c = capabilities(kernelVersion());
        Optional<EntropyRate> rate = entropyBytesPerSecond.isPresent()
                ? Optional.of(EntropyRate.perSecond(entropyBytesPerSecond.getAsLong())) : Optional.empty();
        return new Result(Optional.of(new KvmDriver(c, rate)), "");
    }

    /**
     * What the driver offers where /dev/kvm works: volumes attach to running guests (volume slots)
     * and move with a live migration (the target connects to the same exports).
     */
    static DriverCapabilities capabilities(String kernelVersion) {
        return new DriverCapabilities("kvm", "KVM", kernelVersion, Set.of(Traits.DRIVER_KVM, Traits.LIVE_MIGRATION,
                Traits.COLD_MIGRATION, Traits.VOLUME_ATTACH, Traits.LIVE_MIGRATION_VOLUMES), VmConfig.MAX_VCPUS,
                VmConfig.MIN_MEMORY >> 20, false, Optional.empty());
    }

    /** A probe's outcome: the driver, or the reason there is none. */
    public record Result(Optional<KvmDriver> driver, String reason) {
    }

    @Override
    public void exportDisk(Optional<VirtualGuest> running, GuestSpec.Disk disk, Path target)
            throws java.io.IOException, InterruptedException {
        DiskExport.export(running.filter(KvmGuest.class::isInstance).map(g -> ((KvmGuest) g).vm()), disk, target);
    }

    /** KVM is the kernel's: its version is the host kernel's, as Nova reports it for libvirt/KVM. */
    private static String kernelVersion() {
        return System.getProperty("os.version", "").replaceAll("[^0-9.].*", "");
    }

    @Override
    public DriverCapabilities capabilities() {
        return capabilities;
    }

    @Override
    public VirtualGuest spawn(GuestSpec spec, ConsoleOutput console) {
        return translated(() -> {
            VirtualMachine vm = VirtualMachine.create(config(spec), sink(console));
            KvmVolumes volumes = new KvmVolumes(vm);
            try {
                volumes.fillAtBoot(spec);
            } catch (RuntimeException e) {
                vm.close();
                throw e;
            }
            return started(vm, volumes, false);
        });
    }

    @Override
    public VirtualGuest restore(String instanceId, Path snapshotDir, ConsoleOutput console, boolean paused) {
        return translated(() -> {
            VirtualMachine vm = VirtualMachine.restore(snapshotDir, sink(console));
            KvmVolumes volumes;
            try {
                volumes = KvmVolumes.load(vm, snapshotDir);
            } catch (java.io.IOException | RuntimeException e) {
                vm.close();
                throw new HypervisorException("SnapshotUnusable", "the volume attachments of snapshot " + snapshotDir
                        + " cannot be read: " + e.getMessage(), e);
            }
            return started(vm, volumes, paused);
        });
    }

    /** Guests live in this JVM: after a restart there is never one to find. */
    @Override
    public Optional<VirtualGuest> reattach(String instanceId, Path instanceDir, long memoryMiB,
                                           ConsoleOutput console) {
        return Optional.empty();
    }

    /**
     * Builds the guest's VM, not started, for kvm-runtime's migration stream to fill: its volume
     * slots stay empty until the stream's device state connects each to the export the source's
     * slot had; the spec's layout ({@link GuestSpec#withSlots}, from the source's Hello) says which
     * attachment that must be.
     */
    @Override
    public KvmIncoming incoming(GuestSpec spec, ConsoleOutput console) {
        return translated(() -> new KvmIncoming(spec.instanceId(),
                VirtualMachine.createIncoming(config(spec), sink(console)), spec.slotLayout(), entropyRate));
    }

    /**
     * kvm-runtime's pre-copy engine, the guest's disks along (they are local: a layer over the cached
     * image). Volumes are not copied: a root volume and the slots' volumes stay on their NBD servers,
     * and the target connects to the same exports (the state names them).
     */
    @Override
    public MigrationOutcome migrate(VirtualGuest guest, MigrationPipe pipe, MigrationLimits limits)
            throws InterruptedException {
        if (!(guest instanceof KvmGuest kvm)) {
            throw new HypervisorException("NotSupported", "the kvm driver sends only its own guests");
        }
        MigrationSettings settings = MigrationSettings.defaults().withDisks(true).withMaxDowntime(limits.maxDowntime())
                .withMaxRounds(limits.maxRounds());
        if (limits.maxBandwidth().isPresent()) {
            settings = settings.withBandwidthLimit(limits.maxBandwidth().getAsLong());
        }
        MigrationResult r = MigrationSource.migrate(kvm.vm(), pipe, settings);
        return new MigrationOutcome(r.abortedReason(), r.totalTime(),
                r.completed() ? Optional.of(r.downtime()) : Optional.empty(), r.toString());
    }

    private KvmGuest started(VirtualMachine vm, KvmVolumes volumes, boolean paused) {
        try {
            vm.entropy().ifPresent(rng -> rng.limit(entropyRate));
            vm.start();
            if (paused) {
                vm.pause();
            }
            return new KvmGuest(vm, volumes);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            vm.close();
            throw new HypervisorException("HypervisorError", "interrupted while starting the guest", e);
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    /**
     * The VM of {@code spec}: a boot volume is its first disk (vda, the volume id as its serial, its
     * data on the volume's NBD export), the image disks after it, then the volume slots.
     */
    static VmConfig config(GuestSpec spec) {
        VmConfig.Builder b = VmConfig.builder(spec.kernel()).name(spec.instanceId()).cmdline(spec.cmdline())
                .vcpus(spec.vcpus()).memoryMiB(spec.memoryMiB()).entropy(spec.entropy())
                .volumeSlots(spec.volumeSlots()).watchdog(spec.watchdog());
        spec.initrd().ifPresent(b::initrd);
        spec.bootVolume().ifPresent(v -> b.disk(DiskConfig.nbd(KvmVolumes.nbdVolume(v))));
        for (GuestSpec.Disk d : spec.disks()) {
            b.disk(DiskConfig.of(d.path(), d.readOnly(),
                    d.format() == GuestSpec.Format.QCOW2 ? DiskFormat.QCOW2 : DiskFormat.RAW));
        }
        for (GuestSpec.Nic n : spec.nics()) {
            b.net(n.mac().isEmpty() ? NetConfig.of(n.tap()) : new NetConfig(n.tap(), n.mac()));
        }
        return b.build();
    }

    private static ConsoleSink sink(ConsoleOutput console) {
        return console::write;
    }

    /** The VMM's exceptions as the agent's: the fault code says which kind of problem it is. */
    private static <T> T translated(Supplier<T> action) {
        try {
            return action.get();
        } catch (VmConfigException e) {
            throw new HypervisorException("InvalidResources", e.getMessage(), e);
        } catch (KernelLoadException e) {
            throw new HypervisorException("ImageNotBootable", e.getMessage(), e);
        } catch (DiskImageException e) {
            throw new HypervisorException("DiskUnusable", e.getMessage(), e);
        } catch (SnapshotException e) {
            throw new HypervisorException("SnapshotUnusable", e.getMessage(), e);
        } catch (VmmException e) {
            throw new HypervisorException("HypervisorError", e.getMessage(), e);
        }
    }
}
