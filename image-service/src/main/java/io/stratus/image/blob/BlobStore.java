package io.stratus.image.blob;

import io.stratus.database.PrivateFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Image data by sha256: {@code blobs/<hex>}. Data is written to a temporary file under
 * {@code uploads/} while its digest and size are computed, flushed to disk, and renamed into place
 * only when complete, so a half-written image is never served. The same data uploaded twice is
 * stored once.
 */
public final class BlobStore {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final int BUFFER = 1 << 16;

    private final Path blobs;
    private final Path uploads;

    /** Tenants' data: the directories are 0700 and every file is created 0600. */
    public BlobStore(Path dir) throws IOException {
        PrivateFiles.directory(dir);
        this.blobs = PrivateFiles.directory(dir.resolve("blobs"));
        this.uploads = PrivateFiles.directory(dir.resolve("uploads"));
    }

    /** Stored data: where it is, how big, its digest. */
    public record Blob(String sha256, long size, Path file) {
    }

    /**
     * Takes data from {@code in} until its end.
     *
     * @param limit the most bytes taken; more is {@link TooLargeException} and nothing is kept
     * @param expected the byte count the client announced (Content-Length), or -1; fewer bytes
     *     is {@link IncompleteException} and nothing is kept
     */
    public Blob write(InputStream in, long limit, long expected) throws IOException {
        Upload upload = begin(limit);
        try {
            byte[] buffer = new byte[BUFFER];
            int n;
            while ((n = in.read(buffer)) > 0) {
                upload.write(ByteBuffer.wrap(buffer, 0, n));
            }
            return upload.finish(expected);
        } finally {
            upload.abort();
        }
    }

    /** Starts taking data that arrives piece by piece; {@code limit} as for {@link #write}. */
    public Upload begin(long limit) throws IOException {
        return new Upload(uploads.resolve(UUID.randomUUID() + ".partial"), limit);
    }

    /**
     * Data on its way in: written to a scratch file and digested as it comes, stored by
     * {@link #finish}; {@link #abort} (harmless after finish) drops what came. One thread at a time.
     */
    public final class Upload {
        private final Path partial;
        private final long limit;
        private final FileChannel out;
        private final MessageDigest sha = sha256();
        private long size;
        private boolean done;

        private Upload(Path partial, long limit) throws IOException {
            this.partial = partial;
            this.limit = limit;
            this.out = FileChannel.open(PrivateFiles.createFile(partial), StandardOpenOption.WRITE);
        }

        /** Appends {@code data} (consumed). */
        public void write(ByteBuffer data) throws IOException {
            size += data.remaining();
            if (size > limit) {
                throw new TooLargeException(limit);
            }
            sha.update(data.duplicate());
            while (data.hasRemaining()) {
                out.write(data);
            }
        }

        /** The bytes taken so far. */
        public long size() {
            return size;
        }

        /**
         * Stores what came: flushed to disk, then renamed into place under its digest.
         *
         * @param expected the announced byte count, or -1
         */
        public Blob finish(long expected) throws IOException {
            if (expected >= 0 && size != expected) {
                throw new IncompleteException(size, expected);
            }
            out.force(true);
            out.close();
            String hex = HexFormat.of().formatHex(sha.digest());
            Path target = blobs.resolve(hex);
            // rename(2): readers of the same data already stored keep their open file.
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            done = true;
            return new Blob(hex, size, target);
        }

        /** Drops the data unless {@link #finish} stored it. */
        public void abort() throws IOException {
            if (!done) {
                done = true;
                out.close();
                Files.deleteIfExists(partial);
            }
        }
    }

    /** The file of {@code sha256}. */
    public Path file(String sha256) {
        if (!SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("not a sha256: " + sha256);
        }
        return blobs.resolve(sha256);
    }

    public void delete(String sha256) throws IOException {
        Files.deleteIfExists(file(sha256));
    }

    /** Removes scratch files of uploads a stopped service never finished. */
    public int clearUploads() throws IOException {
        int n = 0;
        try (Stream<Path> left = Files.list(uploads)) {
            for (Path p : left.toList()) {
                Files.deleteIfExists(p);
                n++;
            }
        }
        return n;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The data was larger than allowed. */
    public static final class TooLargeException extends IOException {
        public TooLargeException(long limit) {
            super("the image data exceeds " + limit + " bytes");
        }
    }

    /** The data ended before the announced length: a truncated upload. */
    public static final class IncompleteException extends IOException {
        public IncompleteException(long got, long expected) {
            super("the upload ended after " + got + " of the " + expected + " bytes announced");
        }
    }
}
