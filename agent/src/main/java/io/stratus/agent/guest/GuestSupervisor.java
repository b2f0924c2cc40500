package io.stratus.agent.guest;

import io.stratus.agent.boot.BootFiles;
import io.stratus.agent.boot.RawBases;
import io.stratus.agent.boot.WholeDiskBoots;
import io.stratus.agent.image.ImageCache;
import io.stratus.agent.store.PrivateFiles;
import io.stratus.agent.image.ImageException;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.virt.GuestExit;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.GuestUsage;
import io.stratus.agent.virt.HypervisorDriver;
import io.stratus.agent.virt.NbdExport;
import io.stratus.agent.virt.VirtualGuest;
import io.stratus.kvm.virtio.block.Qcow2Image;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.NetworkInterface;
import io.stratus.proto.v1.VolumeAttachment;
import io.stratus.proto.v1.WatchdogAction;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * The guests of this host, through its hypervisor driver: makes a guest's spec from an instance
 * record (images from the cache, the instance's disk), watches each run, stops it, and keeps what
 * outlives a single run (console output, usage counters) per instance. Ends of a run the agent did
 * not ask for (the guest powered off, reset or failed) go to the exit listener.
 */
public final class GuestSupervisor {
    private static final Logger LOG = Logger.getLogger(GuestSupervisor.class);
    private static final long GIB = 1L << 30;
    /** Instance disks: a copy-on-write layer over the cached image. */
    static final String DISK_FILE = "disk.qcow2";
    /** Instance disks of agents before copy-on-write layers: full copies, still used where they exist. */
    static final String LEGACY_DISK_FILE = "disk.raw";
    /** Where the kernel and initrd found on a root volume are put for the guest's boot. */
    static final String VOLUME_BOOT_DIR = "volume-boot";
    private static final String SNAPSHOT_DIR = "snapshot";
    /** Nova's DMI product name, what cloud-init looks for (see {@link #directBoot}). */
    static final String PRODUCT_NAME = "\"product_name=OpenStack Nova\"";
    /**
     * The disks every guest gets for volumes, empty until one is attached: virtio-mmio devices
     * cannot be added to a running Linux guest, so the slots are there from boot. Four, as a
     * small server's share (Nova's libvirt driver allows 25 on virtio; each slot costs a
     * virtio-mmio transport and an interrupt line of microvm's 24).
     */
    public static final int VOLUME_SLOTS = 4;

    private final HypervisorDriver driver;
    private final ImageCache images;
    private final WholeDiskBoots wholeDisks;
    private final RawBases rawBases;
    private final NicPlugs plugs;
    private final ConfigDrives configDrives;
    private final Path instancesDir;
    private final int consoleBytes;
    private final Map<String, Guest> guests = new ConcurrentHashMap<>();
    private final Map<String, ConsoleLog> consoles = new ConcurrentHashMap<>();
    private final Map<String, GuestUsage> earlier = new ConcurrentHashMap<>();
    private volatile BiConsumer<Guest, GuestExit> exitListener = (g, e) -> { };
    private volatile Consumer<Guest> watchdogListener = g -> { };

    public GuestSupervisor(HypervisorDriver driver, ImageCache images, NicPlugs plugs, Path instancesDir,
                           int consoleBytes) {
        this(driver, images, plugs, ConfigDrives.unavailable("this host makes none"), instancesDir, consoleBytes);
    }

    public GuestSupervisor(HypervisorDriver driver, ImageCache images, NicPlugs plugs, ConfigDrives configDrives,
                           Path instancesDir, int consoleBytes) {
        this.driver = driver;
        this.images = images;
        this.wholeDisks = new WholeDiskBoots(images);
        this.rawBases = new RawBases(images);
        this.plugs = plugs;
        this.configDrives = configDrives;
        this.instancesDir = instancesDir;
        this.consoleBytes = consoleBytes;
    }

    public HypervisorDriver driver() {
        return driver;
    }

    /** Hears runs that ended without the agent stopping them. */
    public void onExit(BiConsumer<Guest, GuestExit> listener) {
        this.exitListener = listener;
    }

    /**
     * Hears a guest's watchdog firing, on a thread of its own: the driver's thread that saw it
     * (QEMU's monitor reader, a vCPU) must not wait for the action, which may stop that guest.
     */
    public void onWatchdog(Consumer<Guest> listener) {
        this.watchdogListener = listener;
    }

    /**
     * Boots the instance's guest: its kernel and initrd images, its disk (a copy-on-write layer
     * over the image, made the first time, of the flavor's size), its size and network.
     *
     * @throws ImageException an image is missing or not what the spec says
     * @throws io.stratus.agent.virt.HypervisorException the driver cannot build or start the guest
     */
    public Guest launch(InstanceRecord rec) {
        // Every guest booted here gets an entropy device: without RDRAND a guest would wait for entropy at boot.
        VirtualGuest machine = withSpec(rec, true, spec -> driver.spawn(spec, console(rec.id())));
        return watched(new Guest(rec.id(), machine, console(rec.id())));
    }

    /** Makes the host side of the instance's NICs on tenant networks (those an operator's TAP is not). */
    private void plug(InstanceRecord rec) {
        for (NetworkInterface n : rec.boot().getNetworksList()) {
            if (!n.getPortId().isEmpty()) {
                plugs.plug(n);
            }
        }
    }

    /**
     * Runs {@code use} with the instance's guest spec while the images its kernel and initrd come
     * from are held (the driver reads them as it builds the guest). {@code entropy}: whether the
     * guest has an entropy device (a migrating guest keeps what it was booted with).
     */
    public <T> T withSpec(InstanceRecord rec, boolean entropy, Function<GuestSpec, T> use) {
        BootSource source = rec.boot().getSource();
        try (DirectBoot boot = directBoot(rec, source)) {
            List<GuestSpec.Disk> disks = new ArrayList<>();
            if (!source.getImageId().isEmpty()) {
                Path disk = instanceDisk(rec, source);
                disks.add(new GuestSpec.Disk(disk, disk.getFileName().toString().equals(LEGACY_DISK_FILE)
                        ? GuestSpec.Format.RAW : GuestSpec.Format.QCOW2, false));
            }
            // After the root disk: the guest's second disk, read-only.
            configDrives.drive(rec, instanceDir(rec.id())).ifPresent(disks::add);
            plug(rec);
            List<GuestSpec.Nic> nics = new ArrayList<>();
            for (NetworkInterface n : rec.boot().getNetworksList()) {
                if (!n.getTap().isEmpty()) {
                    nics.add(new GuestSpec.Nic(n.getTap(), n.getMac()));
                }
            }
            List<GuestSpec.Volume> volumes = rec.boot().getVolumesList().stream().map(GuestSupervisor::volume).toList();
            GuestSpec spec = new GuestSpec(rec.id(), instanceDir(rec.id()), boot.kernel(), boot.initrd(),
                    boot.cmdline(), (int) rec.resources().getVcpus(), rec.resources().getMemoryMib(), disks, nics,
                    entropy, volumes, VOLUME_SLOTS,
                    rec.boot().getWatchdogAction() != WatchdogAction.WATCHDOG_ACTION_UNSPECIFIED);
            return use.apply(spec);
        }
    }

    /**
     * The contract's attachment as a driver's volume.
     *
     * @throws io.stratus.agent.virt.HypervisorException {@code VolumeUnusable}: its NBD URI is not one
     */
    public static GuestSpec.Volume volume(VolumeAttachment a) {
        return new GuestSpec.Volume(a.getVolumeId(), a.getAttachmentId(), NbdExport.parse(a.getNbdUri()),
                a.getReadOnly(), a.getBoot());
    }

    /** The kernel, initrd and command line a guest boots directly, with the image leases that keep them. */
    private record DirectBoot(Path kernel, Optional<Path> initrd, String cmdline, List<ImageCache.Lease> held)
            implements AutoCloseable {
        @Override
        public void close() {
            held.forEach(ImageCache.Lease::close);
        }
    }

    /**
     * What the instance boots: the kernel and ramdisk images it names, or, for a whole-disk image
     * (a disk and no kernel), what its boot loader would boot, found on the disk before anything
     * of the instance is made here.
     */
    private DirectBoot directBoot(InstanceRecord rec, BootSource source) {
        List<ImageCache.Lease> held = new ArrayList<>();
        try {
            if (!source.getKernelImageId().isEmpty()) {
                ImageCache.Lease kernel = images.acquire(source.getKernelImageId(), "");
                held.add(kernel);
                Optional<Path> initrd = Optional.empty();
                if (!source.getRamdiskImageId().isEmpty()) {
                    ImageCache.Lease ramdisk = images.acquire(source.getRamdiskImageId(), "");
                    held.add(ramdisk);
                    initrd = Optional.of(ramdisk.file());
                }
                return new DirectBoot(kernel.file(), initrd, source.getKernelCmdline(), held);
            }
            Optional<VolumeAttachment> rootVolume = rec.boot().getVolumesList().stream()
                    .filter(VolumeAttachment::getBoot).findFirst();
            if (source.getImageId().isEmpty() && rootVolume.isPresent()) {
                BootFiles found = wholeDisks.resolveVolume(volume(rootVolume.get()),
                        instanceDir(rec.id()).resolve(VOLUME_BOOT_DIR));
                return new DirectBoot(found.kernel(), found.initrd(), (found.cmdline() + " " + PRODUCT_NAME).strip(),
                        held);
            }
            if (source.getImageId().isEmpty()) {
                throw new ImageException("ImageNotBootable", "instance " + rec.id()
                        + " names neither a kernel, a disk image nor a root volume to boot");
            }
            ImageCache.Lease disk = images.acquire(source.getImageId(), source.getImageSha256());
            held.add(disk);
            BootFiles found = wholeDisks.resolve(source.getImageId(), disk);
            // Without DMI/SMBIOS (microvm and kvm-runtime have none) cloud-init's OpenStack
            // datasource knows the platform by init's environment: the kernel hands unknown
            // name=value arguments to init, and the quotes make "OpenStack Nova" one value.
            return new DirectBoot(found.kernel(), found.initrd(), (found.cmdline() + " " + PRODUCT_NAME).strip(), held);
        } catch (RuntimeException e) {
            held.forEach(ImageCache.Lease::close);
            throw e;
        }
    }

    /** Runs a guest that a migration brought here, running already, as the instance's guest. */
    public Guest adopt(String id, VirtualGuest machine) {
        return watched(new Guest(id, machine, console(id)));
    }

    /**
     * The instance's disk on this host, made now (a fresh layer over the cached image, of the
     * record's size) if it is not there yet; empty for an instance that boots without one.
     */
    public Optional<Path> disk(InstanceRecord rec) {
        BootSource source = rec.boot().getSource();
        return source.getImageId().isEmpty() ? Optional.empty() : Optional.of(instanceDisk(rec, source));
    }

    /**
     * Copies the instance's disk as its guest sees it into {@code target} (raw), through the
     * driver: a running guest is paused for the copy only.
     *
     * @throws ImageException NoDiskToImage: the instance boots without a disk
     */
    public void exportDisk(InstanceRecord rec, Path target) throws IOException, InterruptedException {
        Path disk = disk(rec).orElseThrow(() -> new ImageException("NoDiskToImage", "instance " + rec.id()
                + " boots without a disk: there is nothing to make an image of"));
        GuestSpec.Disk d = new GuestSpec.Disk(disk, disk.getFileName().toString().equals(LEGACY_DISK_FILE)
                ? GuestSpec.Format.RAW : GuestSpec.Format.QCOW2, false);
        driver.exportDisk(running(rec.id()).map(Guest::machine), d, target);
    }

    /** Stores {@code file} as the data of image {@code imageId} in the image service. */
    public void upload(String imageId, Path file) {
        images.upload(imageId, file);
    }

    /**
     * Deletes the instance's disk and config drive (its guest must not run): the next launch makes
     * fresh ones, over the record's image and from its metadata, as a rebuild wants.
     */
    public void discardDisk(String id) {
        try {
            Files.deleteIfExists(instanceDir(id).resolve(ConfigDrives.FILE));
            Files.deleteIfExists(instanceDir(id).resolve(DISK_FILE));
            Files.deleteIfExists(instanceDir(id).resolve(LEGACY_DISK_FILE));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the disk of instance " + id, e);
        }
    }

    /** Continues the guest saved in {@code snapshotDir}; left paused when {@code paused}. */
    public Guest restore(InstanceRecord rec, Path snapshotDir, boolean paused) {
        plug(rec);
        VirtualGuest machine = driver.restore(rec.id(), snapshotDir, console(rec.id()), paused);
        return watched(new Guest(rec.id(), machine, console(rec.id())));
    }

    /** The instance's guest still running from before the agent restarted, now watched again. */
    public Optional<Guest> reattach(InstanceRecord rec) {
        // Its TAPs outlived the agent with it; plugging them again puts back a bridge the host lost.
        plug(rec);
        return driver.reattach(rec.id(), instanceDir(rec.id()), rec.resources().getMemoryMib(), console(rec.id()))
                .map(machine -> watched(new Guest(rec.id(), machine, console(rec.id()))));
    }

    private Guest watched(Guest guest) {
        String id = guest.instanceId();
        Guest previous = guests.put(id, guest);
        if (previous != null) {
            // The agent never runs two guests of one instance; a caller that lost track is a bug to see.
            LOG.errorf("instance %s: a second guest was started while one ran; stopping the older", id);
            end(previous);
        }
        guest.machine().onWatchdog(() -> {
            Thread t = new Thread(() -> watchdogListener.accept(guest), id + "-watchdog");
            t.setDaemon(true);
            t.start();
        });
        Thread watch = new Thread(() -> watch(guest), id + "-watch");
        watch.setDaemon(true);
        watch.start();
        return guest;
    }

    private void watch(Guest guest) {
        try {
            GuestExit exit = guest.machine().awaitExit();
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
        guest.machine().snapshot(dir);
        // The guest's memory and device state: its owner's alone, whoever wrote the files.
        PrivateFiles.restrictTree(dir);
    }

    /**
     * Lets go of every guest without ending those that outlive the agent (the driver says which);
     * the others end.
     */
    public void detachAll() {
        for (String id : all().keySet()) {
            Guest guest = guests.remove(id);
            if (guest != null) {
                guest.machine().detach();
            }
        }
    }

    private void end(Guest guest) {
        GuestUsage last = guest.usage().countersOnly();
        guest.machine().stop();
        earlier.merge(guest.instanceId(), last, GuestUsage::after);
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

    /**
     * Stops the guest and drops everything kept for the instance here: its directory, and the
     * host side of its NICs.
     */
    public void forget(InstanceRecord rec) {
        String id = rec.id();
        stop(id);
        for (NetworkInterface n : rec.boot().getNetworksList()) {
            if (!n.getPortId().isEmpty()) {
                try {
                    plugs.unplug(n.getTap());
                } catch (RuntimeException e) {
                    LOG.warnf("instance %s: its NIC %s was not removed: %s", id, n.getTap(), e.getMessage());
                }
            }
        }
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
        try (ImageCache.Lease image = images.acquire(source.getImageId(), source.getImageSha256())) {
            Path base = rawBases.of(source.getImageId(), image);
            PrivateFiles.directory(instancesDir);
            PrivateFiles.directory(disk.getParent());
            Path partial = disk.resolveSibling(DISK_FILE + ".partial");
            Files.deleteIfExists(partial);
            // Whole sectors: an image of any byte count is a disk of the sectors that hold it.
            long size = Math.max(rec.resources().getDiskGib() * GIB, (Files.size(base) + 511) / 512 * 512);
            Qcow2Image.create(partial, base, size);
            PrivateFiles.restrict(partial); // the guest's writes: its owner's alone
            Files.move(partial, disk, StandardCopyOption.ATOMIC_MOVE);
            return disk;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the disk of instance " + rec.id() + " in " + disk, e);
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
