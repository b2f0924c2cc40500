package io.stratus.agent.image;

import io.stratus.agent.store.PrivateFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * This host's images, fetched from an {@link ImageSource} and kept by sha256 under
 * {@code blobs/}, so that a guest boots from a local file and an image is fetched once however
 * many guests use it. Every fetch is verified against the image's sha256 (a mismatch is fetched
 * once more, then refused) and enters the cache only whole, by rename. Concurrent requests for
 * one image share one download. The cache is bounded: the least recently used images go first,
 * never one in use (leased now, or named by an instance on this host, whose disk may be a
 * copy-on-write layer over it). Files made from an image (what a whole-disk image boots) are kept
 * beside it under {@code derived/<sha256>/}, count against the bound with it, and go with it.
 */
public final class ImageCache {
    private static final Logger LOG = Logger.getLogger(ImageCache.class);
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern DERIVED_NAME = Pattern.compile("[a-z][a-z0-9-]{0,31}");
    private static final int ATTEMPTS = 2;

    private final Path blobs;
    private final Path ids;
    private final Path partial;
    private final Path derived;
    private final ImageSource source;
    private final long maxBytes;
    private final Supplier<Set<String>> idsInUse;
    private final Clock clock;
    private final Map<String, CompletableFuture<String>> fetching = new ConcurrentHashMap<>();
    private final Map<String, Integer> leased = new HashMap<>();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong downloads = new AtomicLong();
    private final AtomicLong downloadedBytes = new AtomicLong();
    private final AtomicLong mismatches = new AtomicLong();

    /**
     * @param maxBytes the most bytes of images kept; an image that cannot fit beside those in use is refused
     * @param idsInUse the image ids the instances on this host name (disk, kernel and ramdisk)
     */
    public ImageCache(Path dir, ImageSource source, long maxBytes, Supplier<Set<String>> idsInUse, Clock clock) {
        try {
            // Tenants' images: the service's user alone reads them (0700 directories, 0600 files).
            PrivateFiles.directory(dir);
            this.blobs = PrivateFiles.directory(dir.resolve("blobs"));
            this.ids = PrivateFiles.directory(dir.resolve("ids"));
            this.partial = PrivateFiles.directory(dir.resolve("partial"));
            this.derived = PrivateFiles.directory(dir.resolve("derived"));
            // What a process that ended mid-way left: downloads, inspections, and files made from
            // an image whose eviction it did not finish.
            try (Stream<Path> left = Files.list(partial)) {
                for (Path p : left.toList()) {
                    deleteTree(p);
                }
            }
            try (Stream<Path> made = Files.list(derived)) {
                for (Path p : made.toList()) {
                    if (!Files.isRegularFile(blobs.resolve(p.getFileName()))) {
                        deleteTree(p);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the image cache in " + dir, e);
        }
        this.source = source;
        this.maxBytes = maxBytes;
        this.idsInUse = idsInUse;
        this.clock = clock;
    }

    /** A cached image held for use: it is not evicted until closed. */
    public final class Lease implements AutoCloseable {
        private final String sha256;
        private final Path file;
        private boolean closed;

        private Lease(String sha256, Path file) {
            this.sha256 = sha256;
            this.file = file;
        }

        public Path file() {
            return file;
        }

        public String sha256() {
            return sha256;
        }

        private void checkOpen() {
            synchronized (ImageCache.this) {
                if (closed) {
                    throw new IllegalStateException("the lease of image " + sha256 + " is closed");
                }
            }
        }

        @Override
        public void close() {
            synchronized (ImageCache.this) {
                if (!closed) {
                    closed = true;
                    leased.computeIfPresent(sha256, (k, n) -> n > 1 ? n - 1 : null);
                }
            }
        }
    }

    /** Counters for telemetry. */
    public record Stats(long hits, long downloads, long downloadedBytes, long checksumMismatches, long bytes,
                        int images) {
    }

    /**
     * Image {@code id}, from the cache or fetched now, held until the lease is closed.
     *
     * @param expectedSha256 the digest the request names (hex), or empty to take the source's word
     * @throws ImageException the image cannot be had: ImageNotFound, ImageNotActive,
     *     ImageUnavailable, ImageChecksumMismatch, ImageCacheFull
     */
    public Lease acquire(String id, String expectedSha256) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new ImageException("ImageNotFound", "image id '" + id + "' is not a valid image id");
        }
        String expected = expectedSha256 == null ? "" : expectedSha256.toLowerCase();
        if (!expected.isEmpty() && !SHA256.matcher(expected).matches()) {
            throw new ImageException("ImageChecksumMismatch", "'" + expectedSha256 + "' is not a sha256 digest");
        }
        for (int round = 0; round < 3; round++) {
            String known = expected.isEmpty() ? knownSha(id) : expected;
            if (known != null) {
                Lease hit = leaseIfPresent(known);
                if (hit != null) {
                    hits.incrementAndGet();
                    remember(id, known);
                    return hit;
                }
            }
            String sha = fetchOnce(id, expected);
            Lease fetched = leaseIfPresent(sha);
            if (fetched != null) {
                return fetched;
            }
            // Evicted between its fetch and this lease, by a fetch that needed the room: again.
        }
        throw new ImageException("ImageCacheFull", "image " + id + " keeps being evicted from the image cache"
                + " before it can be used: the cache (" + maxBytes + " bytes) is too small for this host's images");
    }

    /** Stores {@code file} as the data of image {@code id} at this cache's source (an image of an instance). */
    public void upload(String id, Path file) {
        try {
            source.upload(id, file);
        } catch (IOException e) {
            throw new ImageException("ImageUploadFailed", "cannot upload image " + id + " to "
                    + source.describeSelf() + ": " + e.getMessage());
        }
    }

    /**
     * The directory {@code name} of files made from the leased image (what a whole-disk image
     * boots, say), if it has been kept: it stays as long as the image and is evicted with it.
     */
    public Optional<Path> derived(Lease image, String name) {
        image.checkOpen();
        Path dir = derived.resolve(image.sha256()).resolve(checkedName(name));
        return Files.isDirectory(dir) ? Optional.of(dir) : Optional.empty();
    }

    /**
     * A new empty directory for work on an image (the caller deletes it; whatever a crash leaves
     * there goes when the cache is opened again).
     */
    public Path scratchDir() {
        try {
            return Files.createDirectory(partial.resolve(UUID.randomUUID() + ".work"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a scratch directory in " + partial, e);
        }
    }

    /**
     * Deletes a {@link #scratchDir()} and what is left in it; a failure is only logged (whatever
     * stays goes when the cache is opened again).
     */
    public void discardScratch(Path dir) {
        try {
            deleteTree(dir);
        } catch (IOException | UncheckedIOException e) {
            LOG.warnf("cannot delete scratch directory %s: %s", dir, e.getMessage());
        }
    }

    /**
     * Keeps {@code made} (a directory in a {@link #scratchDir()}) as the directory {@code name} of
     * files made from the leased image, by rename: readers see all of it or none. When another
     * thread kept one first, that one stays and {@code made} is deleted. Its bytes count against
     * the cache's bound as the image's own do.
     *
     * @return the kept directory
     * @throws ImageException ImageCacheFull: there is no room for it beside the images in use
     */
    public synchronized Path keepDerived(Lease image, String name, Path made) {
        image.checkOpen();
        Path target = derived.resolve(image.sha256()).resolve(checkedName(name));
        try {
            if (Files.isDirectory(target)) {
                deleteTree(made);
                return target;
            }
            makeRoom(treeSize(made), image.sha256());
            Files.createDirectories(target.getParent());
            Files.move(made, target, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep " + made + " as " + target, e);
        }
    }

    private static String checkedName(String name) {
        if (!DERIVED_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' is not a name for files made from an image");
        }
        return name;
    }

    /** The image ids this cache knows the digest of, with it. */
    public Map<String, String> known() {
        Map<String, String> m = new HashMap<>();
        try (Stream<Path> s = Files.list(ids)) {
            for (Path p : s.toList()) {
                String sha = readSha(p);
                if (sha != null) {
                    m.put(p.getFileName().toString(), sha);
                }
            }
        } catch (IOException e) {
            LOG.warnf("cannot list the image cache's ids in %s: %s", ids, e.getMessage());
        }
        return m;
    }

    public Stats stats() {
        long bytes = 0;
        int count = 0;
        for (Path p : blobFiles()) {
            bytes += bytesOf(p);
            count++;
        }
        return new Stats(hits.get(), downloads.get(), downloadedBytes.get(), mismatches.get(), bytes, count);
    }

    private synchronized Lease leaseIfPresent(String sha) {
        Path file = blobs.resolve(sha);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        leased.merge(sha, 1, Integer::sum);
        try {
            Files.setLastModifiedTime(file, FileTime.from(clock.instant()));
        } catch (IOException e) {
            LOG.debugf("cannot mark %s as used: %s", file, e.getMessage());
        }
        return new Lease(sha, file);
    }

    /** Fetches {@code id} into the cache, or waits for the fetch already running; its sha256. */
    private String fetchOnce(String id, String expected) {
        CompletableFuture<String> mine = new CompletableFuture<>();
        CompletableFuture<String> running = fetching.putIfAbsent(id, mine);
        if (running != null) {
            try {
                String sha = running.get();
                // Served by another boot's download: a hit as much as one of a file already here.
                hits.incrementAndGet();
                return sha;
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ImageException("ImageUnavailable", "interrupted while waiting for image " + id);
            }
        }
        try {
            String sha = fetch(id, expected);
            mine.complete(sha);
            return sha;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            fetching.remove(id, mine);
        }
    }

    private String fetch(String id, String expected) {
        ImageInfo info = source.describe(id);
        String sha = info.sha256().toLowerCase();
        if (!SHA256.matcher(sha).matches()) {
            throw new ImageException("ImageUnavailable", source.describeSelf() + " gives no sha256 for image " + id);
        }
        if (!expected.isEmpty() && !expected.equals(sha)) {
            throw new ImageException("ImageChecksumMismatch", "image " + id + " has sha256 " + sha + " in "
                    + source.describeSelf() + ", the request expects " + expected);
        }
        if (cached(sha)) {
            remember(id, sha);
            return sha;
        }
        for (int attempt = 1; ; attempt++) {
            Path scratch = partial.resolve(UUID.randomUUID().toString());
            try {
                long size;
                String got;
                MessageDigest digest = sha256();
                try (InputStream in = source.open(id); OutputStream out = Files.newOutputStream(PrivateFiles.createFile(scratch))) {
                    byte[] buffer = new byte[1 << 16];
                    long n = 0;
                    int r;
                    while ((r = in.read(buffer)) > 0) {
                        digest.update(buffer, 0, r);
                        out.write(buffer, 0, r);
                        n += r;
                    }
                    size = n;
                    got = HexFormat.of().formatHex(digest.digest());
                }
                downloads.incrementAndGet();
                downloadedBytes.addAndGet(size);
                if (got.equals(sha)) {
                    store(id, sha, scratch, size);
                    LOG.infof("image %s: fetched %d bytes from %s, sha256 %s", id, size, source.describeSelf(), sha);
                    return sha;
                }
                mismatches.incrementAndGet();
                if (attempt >= ATTEMPTS) {
                    throw new ImageException("ImageChecksumMismatch", "image " + id + " from " + source.describeSelf()
                            + " hashed to " + got + " twice, not its sha256 " + sha + ": refused");
                }
                LOG.warnf("image %s: the data from %s hashed to %s, not %s; fetching it again", id,
                        source.describeSelf(), got, sha);
            } catch (IOException e) {
                if (attempt >= ATTEMPTS) {
                    throw new ImageException("ImageUnavailable", "image " + id + " could not be fetched from "
                            + source.describeSelf() + ": " + e.getMessage());
                }
                LOG.warnf("image %s: fetch from %s failed (%s); trying again", id, source.describeSelf(), e.getMessage());
            } finally {
                try {
                    Files.deleteIfExists(scratch);
                } catch (IOException e) {
                    LOG.warnf("cannot remove %s: %s", scratch, e.getMessage());
                }
            }
        }
    }

    private boolean cached(String sha) {
        return Files.isRegularFile(blobs.resolve(sha));
    }

    /** Moves a verified download into the cache, evicting what must go to make room. */
    private synchronized void store(String id, String sha, Path scratch, long size) throws IOException {
        Path target = blobs.resolve(sha);
        if (!Files.exists(target)) {
            makeRoom(size, sha);
            try (FileChannel ch = FileChannel.open(scratch, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(scratch, target, StandardCopyOption.ATOMIC_MOVE);
        }
        remember(id, sha);
    }

    private void makeRoom(long size, String incoming) {
        if (size > maxBytes) {
            throw new ImageException("ImageCacheFull", "the image is " + size + " bytes, more than the whole image"
                    + " cache (" + maxBytes + " bytes, stratus.agent.image-cache.max-bytes)");
        }
        Set<String> inUse = new HashSet<>(leased.keySet());
        Map<String, String> known = known();
        for (String id : idsInUse.get()) {
            String sha = known.get(id);
            if (sha != null) {
                inUse.add(sha);
            }
        }
        List<Path> files = new ArrayList<>(blobFiles());
        long used = files.stream().mapToLong(this::bytesOf).sum();
        files.sort(Comparator.comparing(ImageCache::lastUsed));
        for (Path p : files) {
            if (used + size <= maxBytes) {
                break;
            }
            String sha = p.getFileName().toString();
            if (inUse.contains(sha) || sha.equals(incoming)) {
                continue;
            }
            long freed = bytesOf(p);
            try {
                // What was made from it first: a crash in between leaves an image to inspect again, never orphans.
                deleteTree(derived.resolve(sha));
                Files.deleteIfExists(p);
                used -= freed;
                LOG.infof("image cache: evicted %s (%d bytes, last used %s)", sha, freed, lastUsed(p));
            } catch (IOException e) {
                LOG.warnf("image cache: cannot evict %s: %s", p, e.getMessage());
            }
        }
        if (used + size > maxBytes) {
            throw new ImageException("ImageCacheFull", "the image cache has no room for " + size + " more bytes: "
                    + used + " of its " + maxBytes + " bytes hold images in use on this host");
        }
    }

    private String knownSha(String id) {
        return readSha(ids.resolve(id));
    }

    private void remember(String id, String sha) {
        Path p = ids.resolve(id);
        if (sha.equals(readSha(p))) {
            return;
        }
        try {
            Path tmp = partial.resolve(id + "." + UUID.randomUUID() + ".id");
            Files.writeString(tmp, sha, StandardCharsets.US_ASCII);
            Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (FileAlreadyExistsException e) {
            // Another thread recorded the same fact.
        } catch (IOException e) {
            LOG.warnf("image cache: cannot record image %s as %s: %s", id, sha, e.getMessage());
        }
    }

    private static String readSha(Path p) {
        try {
            String s = Files.readString(p, StandardCharsets.US_ASCII).trim();
            return SHA256.matcher(s).matches() ? s : null;
        } catch (IOException e) {
            return null;
        }
    }

    private List<Path> blobFiles() {
        try (Stream<Path> s = Files.list(blobs)) {
            return s.filter(p -> SHA256.matcher(p.getFileName().toString()).matches()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the image cache " + blobs, e);
        }
    }

    /** An image's bytes in the cache: its file and what was made from it. */
    private long bytesOf(Path blob) {
        return sizeOf(blob) + treeSize(derived.resolve(blob.getFileName()));
    }

    private static long treeSize(Path dir) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).mapToLong(ImageCache::sizeOf).sum();
        } catch (IOException | UncheckedIOException e) {
            return 0;
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    private static FileTime lastUsed(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
