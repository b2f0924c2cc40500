package io.stratus.agent.guest;

import io.stratus.agent.image.ImageException;
import io.stratus.agent.image.ImageCache;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.kvm.virtio.block.Qcow2Image;
import io.stratus.kvm.virtio.rng.EntropyRate;
import io.stratus.kvm.vm.DiskConfig;
import io.stratus.kvm.vm.NetConfig;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import io.stratus.kvm.vm.VmExit;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.NetworkInterface;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * The guests of this host in kvm-runtime: builds a VM from an instance record, watches it, stops
 * it, and keeps what outlives a single VM (console output, usage counters) per instance.
 * Ends of a run the agent did not ask for (the guest powered off, reset or failed) go to the
 * exit listener.
 */
public final class GuestSupervisor {
    private static final Logger LOG = Logger.getLogger(GuestSupervisor.class);
    private static final long GIB = 1L << 30;
    /** Instance disks: a copy-on-write layer over the cached image. */
    static final String DISK_FILE = "disk.qcow2";
    /** Instance disks of agents before copy-on-write layers: full copies, still used where they exist. */
    static final String LEGACY_DISK_FILE = "disk.raw";
    private static final byte[] QCOW2_MAGIC = {'Q', 'F', 'I', (byte) 0xfb};
    private static final String SNAPSHOT_DIR = "snapshot";

    private final ImageCache images;
    private final Path instancesDir;
    private final int consoleBytes;
    private final Optional<EntropyRate> entropyRate;
    private final Map<String, Guest> guests = new ConcurrentHashMap<>();
    private final Map<String, ConsoleLog> consoles = new ConcurrentHashMap<>();
    private final Map<String, GuestUsage> earlier = new ConcurrentHashMap<>();
    private volatile BiConsumer<Guest, VmExit> exitListener = (g, e) -> { };

    /** @param entropyRate how fast each guest may draw from its entropy device; empty: no limit */
    public GuestSupervisor(ImageCache images, Path instancesDir, int consoleBytes, Optional<EntropyRate> entropyRate) {
        this.images = images;
        this.instancesDir = instancesDir;
        this.consoleBytes = consoleBytes;
        this.entropyRate = entropyRate;
    }

    /** Hears runs that ended without the agent stopping them. */
    public void onExit(BiConsumer<Guest, VmExit> listener) {
        this.exitListener = listener;
    }

    /**
     * Boots the instance's guest: its kernel and initrd images, its disk (a copy-on-write layer
     * over the image, made the first time, of the flavor's size), its size and network.
     *
     * @throws ImageException an image is missing or not what the spec says
     * @throws io.stratus.kvm.VmmException the VMM cannot build or start the guest
     */
    public Guest launch(InstanceRecord rec) {
        // Every guest booted here gets an entropy device: without RDRAND a guest would wait for entropy at boot.
        return started(rec.id(), build(rec, true, config -> VirtualMachine.create(config, console(rec.id()))),
                false);
    }

    /**
     * Builds the instance's VM, not started, to receive a live migration into
     * ({@link VirtualMachine#createIncoming}): the same kernel, size and devices as on the source
     * (an entropy device if {@code entropy}: the source's guest may have been booted without), and
     * a disk of its own (a fresh layer over the cached image that the migration fills).
     */
    public VirtualMachine incoming(InstanceRecord rec, boolean entropy) {
        return build(rec, entropy, config -> VirtualMachine.createIncoming(config, console(rec.id())));
    }

    /** Runs a VM that a migration brought here, running already, as the instance's guest. */
    public Guest adopt(String id, VirtualMachine vm) {
        // The rate is this host's policy: the source's did not come with the guest.
        limited(vm);
        return watched(new Guest(id, vm, console(id)));
    }

    private void limited(VirtualMachine vm) {
        vm.entropy().ifPresent(rng -> rng.limit(entropyRate));
    }

    /**
     * The instance's disk on this host, made now (a fresh layer over the cached image, of the
     * record's size) if it is not there yet; empty for an instance that boots without one.
     */
    public Optional<Path> disk(InstanceRecord rec) {
        BootSource source = rec.boot().getSource();
        return source.getImageId().isEmpty() ? Optional.empty() : Optional.of(instanceDisk(rec, source));
    }

    private VirtualMachine build(InstanceRecord rec, boolean entropy, Function<VmConfig, VirtualMachine> create) {
        BootSource source = rec.boot().getSource();
        if (source.getKernelImageId().isEmpty()) {
            throw new ImageException("ImageNotBootable", "instance " + rec.id()
                    + " names no kernel_image_id: guests boot their kernel directly (there is no firmware)");
        }
        // The VM reads kernel and initrd when it is built: they are held only until then.
        try (ImageCache.Lease kernel = images.acquire(source.getKernelImageId(), "");
             ImageCache.Lease initrd = source.getRamdiskImageId().isEmpty() ? null
                     : images.acquire(source.getRamdiskImageId(), "")) {
            VmConfig.Builder b = VmConfig.builder(kernel.file()).name(rec.id())
                    .cmdline(source.getKernelCmdline()).vcpus((int) rec.resources().getVcpus())
                    .memoryMiB(rec.resources().getMemoryMib()).entropy(entropy);
            if (initrd != null) {
                b.initrd(initrd.file());
            }
            if (!source.getImageId().isEmpty()) {
                b.disk(DiskConfig.of(instanceDisk(rec, source), false));
            }
            for (NetworkInterface n : rec.boot().getNetworksList()) {
                if (!n.getTap().isEmpty()) {
                    b.net(n.getMac().isEmpty() ? NetConfig.of(n.getTap()) : new NetConfig(n.getTap(), n.getMac()));
                }
            }
            return create.apply(b.build());
        }
    }

    /** Continues the guest saved in {@code snapshotDir}; left paused when {@code paused}. */
    public Guest restore(InstanceRecord rec, Path snapshotDir, boolean paused) {
        return started(rec.id(), VirtualMachine.restore(snapshotDir, console(rec.id())), paused);
    }

    private Guest started(String id, VirtualMachine vm, boolean paused) {
        Guest guest = new Guest(id, vm, console(id));
        try {
            limited(vm);
            vm.start();
            if (paused) {
                vm.pause();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            vm.close();
            throw new IllegalStateException("interrupted while starting instance " + id, e);
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
        return watched(guest);
    }

    private Guest watched(Guest guest) {
        String id = guest.instanceId();
        Guest previous = guests.put(id, guest);
        if (previous != null) {
            // The agent never runs two VMs of one instance; a caller that lost track is a bug to see.
            LOG.errorf("instance %s: a second VM was started while one ran; stopping the older", id);
            end(previous);
        }
        Thread watch = new Thread(() -> watch(guest), id + "-watch");
        watch.setDaemon(true);
        watch.start();
        return guest;
    }

    private void watch(Guest guest) {
        try {
            VmExit exit = guest.vm().awaitExit();
            // A guest the agent stopped is no longer in the map: only unrequested ends are reported.
            if (guests.remove(guest.instanceId(), guest)) {
                end(guest);
                exitListener.accept(guest, exit);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.errorf(e, "instance %s: watching the guest failed", guest.instanceId());
        }
    }

    public Optional<Guest> running(String id) {
        return Optional.ofNullable(guests.get(id));
    }

    public Map<String, Guest> all() {
        return Map.copyOf(guests);
    }

    /** Stops the instance's VM (the guest does not shut down: it ends) and frees it. */
    public void stop(String id) {
        Guest guest = guests.remove(id);
        if (guest != null) {
            end(guest);
        }
    }

    /** Pauses the guest and writes its snapshot; the VM stays paused. */
    public void snapshot(String id, Path dir) throws IOException, InterruptedException {
        Guest guest = guests.get(id);
        if (guest == null) {
            throw new IllegalStateException("instance " + id + " has no running guest to snapshot");
        }
        if (!guest.paused()) {
            guest.vm().pause();
        }
        guest.vm().snapshot(dir);
    }

    private void end(Guest guest) {
        VirtualMachine vm = guest.vm();
        vm.stop();
        vm.close();
        earlier.merge(guest.instanceId(), guest.usage().countersOnly(), GuestUsage::after);
    }

    /** Usage of the instance's guests so far (the running one's and those that ended). */
    public GuestUsage usage(String id) {
        GuestUsage before = earlier.getOrDefault(id, GuestUsage.NONE);
        Guest guest = guests.get(id);
        return guest == null ? before : guest.usage().after(before);
    }

    /** The instance's console, created on first use; it lives as long as the instance. */
    public ConsoleLog console(String id) {
        return consoles.computeIfAbsent(id, k -> new ConsoleLog(consoleBytes));
    }

    /** Stops the guest and drops everything kept for the instance, its directory included. */
    public void forget(String id) {
        stop(id);
        ConsoleLog console = consoles.remove(id);
        if (console != null) {
            console.close();
        }
        earlier.remove(id);
        deleteTree(instanceDir(id));
    }

    public Path instanceDir(String id) {
        return instancesDir.resolve(id);
    }

    /** Where a graceful agent stop saves the instance's guest. */
    public Path snapshotDir(String id) {
        return instanceDir(id).resolve(SNAPSHOT_DIR);
    }

    public void discardSnapshot(String id) {
        deleteTree(snapshotDir(id));
    }

    /**
     * The instance's own disk: a qcow2 layer over the cached image, made on first boot, that
     * takes the guest's writes while the image stays shared and unchanged. The image stays in the
     * cache as long as the instance is on this host.
     */
    private Path instanceDisk(InstanceRecord rec, BootSource source) {
        Path legacy = instanceDir(rec.id()).resolve(LEGACY_DISK_FILE);
        if (Files.exists(legacy)) {
            return legacy;
        }
        Path disk = instanceDir(rec.id()).resolve(DISK_FILE);
        if (Files.exists(disk)) {
            return disk;
        }
        try (ImageCache.Lease base = images.acquire(source.getImageId(), source.getImageSha256())) {
            if (startsWith(base.file(), QCOW2_MAGIC)) {
                throw new ImageException("ImageFormatUnsupported", "image " + source.getImageId() + " is qcow2;"
                        + " instance disks are layered over raw images: convert it (qemu-img convert -O raw)"
                        + " and upload it with disk_format raw");
            }
            Files.createDirectories(disk.getParent());
            Path partial = disk.resolveSibling(DISK_FILE + ".partial");
            Files.deleteIfExists(partial);
            // Whole sectors: an image of any byte count is a disk of the sectors that hold it.
            long size = Math.max(rec.resources().getDiskGib() * GIB, (Files.size(base.file()) + 511) / 512 * 512);
            Qcow2Image.create(partial, base.file(), size);
            Files.move(partial, disk, StandardCopyOption.ATOMIC_MOVE);
            return disk;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the disk of instance " + rec.id() + " in " + disk, e);
        }
    }

    private static boolean startsWith(Path file, byte[] magic) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(magic.length), magic);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.warnf("cannot delete %s: %s", dir, e.getMessage());
        }
    }
}
