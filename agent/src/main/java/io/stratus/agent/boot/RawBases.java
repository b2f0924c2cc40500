package io.stratus.agent.boot;

import io.stratus.agent.image.ImageCache;
import io.stratus.agent.image.ImageException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The raw base an instance's copy-on-write layer goes over. A raw image is its own base; a qcow2
 * image is flattened once into a sparse raw file kept beside it in the image cache, as Nova's
 * {@code force_raw_images} does: instance layers then never chain to a second qcow2 file, whose
 * header the uploader wrote, and both drivers read the same simple base.
 */
public final class RawBases {
    private static final Logger LOG = Logger.getLogger(RawBases.class);
    static final String DERIVED = "raw";
    static final String FILE = "disk.raw";

    private final ImageCache cache;

    public RawBases(ImageCache cache) {
        this.cache = cache;
    }

    /**
     * The raw base of the leased image {@code imageId}: the image file itself, or its flattened
     * copy (made now if it is not kept yet). It stays while the lease is held.
     *
     * @throws ImageException ImageCorrupt: a qcow2 image that cannot be read through
     */
    public Path of(String imageId, ImageCache.Lease image) {
        try {
            if (!Qcow2Disk.isQcow2(image.file())) {
                return image.file();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read image file " + image.file(), e);
        }
        Optional<Path> kept = cache.derived(image, DERIVED);
        if (kept.isPresent()) {
            return kept.get().resolve(FILE);
        }
        Path scratch = cache.scratchDir();
        try {
            Path out = Files.createDirectory(scratch.resolve(DERIVED));
            long started = System.nanoTime();
            try (Qcow2Disk disk = Qcow2Disk.open(image.file())) {
                disk.copyOut(0, disk.size(), out.resolve(FILE));
            }
            Path base = cache.keepDerived(image, DERIVED, out).resolve(FILE);
            LOG.infof("image %s: qcow2 flattened to a raw base of %d bytes in %d ms", imageId, Files.size(base),
                    (System.nanoTime() - started) / 1_000_000);
            return base;
        } catch (NotBootableException e) {
            throw new ImageException("ImageCorrupt", "image " + imageId + " cannot be read as qcow2: "
                    + e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot flatten qcow2 image " + imageId + ": " + e.getMessage(), e);
        } finally {
            cache.discardScratch(scratch);
        }
    }
}
