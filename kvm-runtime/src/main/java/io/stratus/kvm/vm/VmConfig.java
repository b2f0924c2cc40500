package io.stratus.kvm.vm;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything that describes a guest: kernel, initrd, command line, memory and vCPUs.
 *
 * @param name used in thread names and log lines (an instance id, say)
 * @param cmdline the kernel command line; the VMM adds what its devices need (for example
 *                {@code console=ttyS0} when no console is named)
 * @param mergeableMemory let KSM merge identical guest pages ({@code MADV_MERGEABLE})
 * @param disks virtio-blk disks, in the order the guest sees them (vda, vdb, ...)
 * @param nets virtio-net devices, in the order the guest sees them (eth0, eth1, ...)
 * @param balloonStatsInterval a virtio-balloon device, asking the guest for memory statistics this
 *                             often; empty for none
 * @param entropy a virtio-rng device, filling the guest's requests from the host's random source
 * @param volumeSlots virtio-blk devices without storage (capacity 0) that volumes fill and leave
 *                    while the guest runs ({@link io.stratus.kvm.virtio.block.VirtioBlock#volumeSlot}):
 *                    virtio-mmio has no hotplug. The guest sees them after the disks.
 */
public record VmConfig(String name, Path kernel, Optional<Path> initrd, String cmdline, long memoryBytes,
                       int vcpus, boolean mergeableMemory, List<DiskConfig> disks, List<NetConfig> nets,
                       Optional<Duration> balloonStatsInterval, boolean entropy, int volumeSlots,
                       boolean watchdog) {
    /** The smallest guest the VMM builds: its boot structures alone need the first MiB. */
    public static final long MIN_MEMORY = 16L << 20;
    /** The VMM's xAPIC, MP table and MADT limit. */
    public static final int MAX_VCPUS = 254;
    /** virtio-mmio devices each take an IOAPIC pin; this leaves room for network and balloon devices. */
    public static final int MAX_DISKS = 8;
    public static final int MAX_NETS = 4;

    public VmConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(cmdline, "cmdline");
        Objects.requireNonNull(balloonStatsInterval, "balloonStatsInterval");
        if (balloonStatsInterval.isPresent() && balloonStatsInterval.get().toMillis() < 100) {
            throw new VmConfigException("balloon statistics interval must be at least 100 ms");
        }
        disks = List.copyOf(disks);
        nets = List.copyOf(nets);
        if (nets.size() > MAX_NETS) {
            throw new VmConfigException("a guest has at most " + MAX_NETS + " network devices, not " + nets.size());
        }
        if (disks.size() > MAX_DISKS) {
            throw new VmConfigException("a guest has at most " + MAX_DISKS + " disks, not " + disks.size());
        }
        if (volumeSlots < 0 || disks.size() + volumeSlots > MAX_DISKS) {
            throw new VmConfigException("a guest has at most " + MAX_DISKS + " disks and volume slots together, not "
                    + disks.size() + " and " + volumeSlots);
        }
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new VmConfigException("a guest has 1 to " + MAX_VCPUS + " vCPUs, not " + vcpus);
        }
        if (memoryBytes < MIN_MEMORY) {
            throw new VmConfigException("guest memory must be at least " + (MIN_MEMORY >> 20) + " MiB, not "
                    + describeBytes(memoryBytes));
        }
        if (memoryBytes % 4096 != 0) {
            throw new VmConfigException("guest memory must be a multiple of 4 KiB, not " + memoryBytes + " bytes");
        }
    }

    public static Builder builder(Path kernel) {
        return new Builder(kernel);
    }

    static String describeBytes(long bytes) {
        if (bytes >= 1L << 30 && bytes % (1L << 30) == 0) {
            return (bytes >> 30) + " GiB";
        }
        if (bytes >= 1L << 20) {
            return (bytes >> 20) + " MiB";
        }
        return bytes + " bytes";
    }

    /**
     * Builds a {@link VmConfig} with defaults: 256 MiB, one vCPU, KSM merging on, a balloon,
     * empty command line.
     */
    public static final class Builder {
        private String name = "vm";
        private final Path kernel;
        private Path initrd;
        private String cmdline = "";
        private long memoryBytes = 256L << 20;
        private int vcpus = 1;
        private boolean mergeableMemory = true;
        private final List<DiskConfig> disks = new ArrayList<>();
        private final List<NetConfig> nets = new ArrayList<>();
        private Duration balloonStatsInterval = Duration.ofSeconds(5);
        private boolean entropy;
        private int volumeSlots;
        private boolean watchdog;

        private Builder(Path kernel) {
            this.kernel = kernel;
        }

        public Builder name(String value) {
            this.name = value;
            return this;
        }

        public Builder initrd(Path value) {
            this.initrd = value;
            return this;
        }

        public Builder cmdline(String value) {
            this.cmdline = value;
            return this;
        }

        public Builder memoryBytes(long value) {
            this.memoryBytes = value;
            return this;
        }

        public Builder memoryMiB(long value) {
            this.memoryBytes = value << 20;
            return this;
        }

        public Builder vcpus(int value) {
            this.vcpus = value;
            return this;
        }

        public Builder mergeableMemory(boolean value) {
            this.mergeableMemory = value;
            return this;
        }

        /** Attaches a disk; the first becomes vda. */
        public Builder disk(DiskConfig value) {
            this.disks.add(value);
            return this;
        }

        /** Attaches a network device; the first becomes eth0. */
        public Builder net(NetConfig value) {
            this.nets.add(value);
            return this;
        }

        /** A balloon asking for statistics every {@code statsInterval} (the default: a balloon, every 5 s). */
        public Builder balloon(Duration statsInterval) {
            this.balloonStatsInterval = statsInterval;
            return this;
        }

        /** No balloon device. */
        public Builder noBalloon() {
            this.balloonStatsInterval = null;
            return this;
        }

        /** Whether the guest gets a virtio-rng device (the default: none). */
        public Builder entropy(boolean value) {
            this.entropy = value;
            return this;
        }

        /** How many empty volume slots the guest gets (the default: none). */
        public Builder volumeSlots(int value) {
            this.volumeSlots = value;
            return this;
        }

        /**
         * Whether the guest gets an IB700 watchdog (ports 0x441/0x443; the default: none), whose
         * expiry the VM's {@link VirtualMachine#onWatchdog} listener hears.
         */
        public Builder watchdog(boolean value) {
            this.watchdog = value;
            return this;
        }

        public VmConfig build() {
            return new VmConfig(name, kernel, Optional.ofNullable(initrd), cmdline, memoryBytes, vcpus,
                    mergeableMemory, disks, nets, Optional.ofNullable(balloonStatsInterval), entropy, volumeSlots,
                    watchdog);
        }
    }
}
