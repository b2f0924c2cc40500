package io.stratus.agent.boot;

import io.stratus.agent.image.ImageCache;
import io.stratus.agent.image.ImageException;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * What whole-disk images boot (guests boot their kernel directly: there is no firmware to run a
 * boot loader): found on each image once, by {@link BootSearch} (partition table, ext
 * filesystems through debugfs, GRUB's default entry), and kept in the image cache beside the
 * image ({@link ImageCache#keepDerived}), so that later boots of the image read three small files.
 * Work happens in a scratch directory of the cache that is deleted whatever the outcome; two boots
 * that inspect one image at once both may, and the first to finish is kept.
 */
public final class WholeDiskBoots {
    private static final Logger LOG = Logger.getLogger(WholeDiskBoots.class);
    static final String DERIVED = "boot";

    private final ImageCache cache;
    private final String debugfs;

    public WholeDiskBoots(ImageCache cache) {
        // Debian keeps debugfs in /usr/sbin, which an unprivileged agent's PATH may lack.
        this(cache, Files.isExecutable(Path.of("/usr/sbin/debugfs")) ? "/usr/sbin/debugfs" : "debugfs");
    }

    WholeDiskBoots(ImageCache cache, String debugfs) {
        this.cache = cache;
        this.debugfs = debugfs;
    }

    /**
     * The boot of the leased whole-disk image {@code imageId}: kept from before, or found now.
     * The files stay while the lease is held.
     *
     * @throws ImageException ImageNotBootable: the image has no boot this agent can find, with why
     */
    public BootFiles resolve(String imageId, ImageCache.Lease image) {
        Optional<Path> kept = cache.derived(image, DERIVED);
        if (kept.isPresent()) {
            return BootFiles.read(kept.get());
        }
        Path scratch = cache.scratchDir();
        try {
            Path out = Files.createDirectory(scratch.resolve(DERIVED));
            Path work = Files.createDirectory(scratch.resolve("work"));
            BootSearch.Found found;
            try (DiskReader disk = open(image.file())) {
                found = BootSearch.inspect(debugfs, disk, work, out);
            }
            BootFiles.write(out, found.cmdline(), found.origin());
            BootFiles boot = BootFiles.read(cache.keepDerived(image, DERIVED, out));
            LOG.infof("image %s: boots %s with \"%s\"", imageId, boot.origin(), boot.cmdline());
            return boot;
        } catch (NotBootableException e) {
            throw new ImageException("ImageNotBootable", "image " + imageId + " is not bootable: " + e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot inspect whole-disk image " + imageId + ": " + e.getMessage(), e);
        } finally {
            cache.discardScratch(scratch);
        }
    }

    /**
     * The boot of a server's root volume, found on it now and written to {@code out} (emptied
     * first): a volume's contents change with every run, so nothing is kept for the next boot.
     *
     * @throws ImageException     ImageNotBootable: the volume has no boot this agent can find, with why
     * @throws HypervisorException VolumeUnreachable: its export cannot be read
     */
    public BootFiles resolveVolume(GuestSpec.Volume volume, Path out) {
        Path scratch = cache.scratchDir();
        try {
            deleteTree(out);
            Files.createDirectories(out);
            Path work = Files.createDirectory(scratch.resolve("work"));
            BootSearch.Found found;
            try (DiskReader disk = NbdDisk.open(volume.export())) {
                found = BootSearch.inspect(debugfs, disk, work, out);
            }
            BootFiles.write(out, found.cmdline(), found.origin());
            BootFiles boot = BootFiles.read(out);
            LOG.infof("volume %s: boots %s with \"%s\"", volume.volumeId(), boot.origin(), boot.cmdline());
            return boot;
        } catch (NotBootableException e) {
            throw new ImageException("ImageNotBootable", "volume " + volume.volumeId() + " is not bootable: "
                    + e.getMessage());
        } catch (IOException e) {
            throw new HypervisorException("VolumeUnreachable", "the boot of volume " + volume.volumeId() + " at "
                    + volume.export() + " cannot be read: " + e.getMessage(), e);
        } finally {
            cache.discardScratch(scratch);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /**
     * The image through its format, told by its first bytes (the image's uploader chose them
     * either way; a qcow2 image that names a backing file is refused by {@link Qcow2Disk}).
     */
    private static DiskReader open(Path file) throws IOException {
        return Qcow2Disk.isQcow2(file) ? Qcow2Disk.open(file) : RawDisk.open(file);
    }
}
