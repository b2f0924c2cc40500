package io.stratus.kvm.virtio.block;

import io.stratus.kvm.sys.HostFile;
import io.stratus.kvm.sys.KvmException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A raw disk image file, locked for the guest that uses it: exclusively when writable, shared
 * when read-only, so two guests never write one disk, and nothing writes a disk a guest reads.
 * The locks are open-file-description locks, so they hold between guests in one JVM as well as
 * between processes.
 */
public final class DiskImage implements AutoCloseable {
    public static final int SECTOR_SIZE = 512;

    private final Path path;
    private final boolean readOnly;
    private final FileChannel channel;
    private final HostFile host;
    private final long capacity;

    private DiskImage(Path path, boolean readOnly, FileChannel channel, HostFile host, long capacity) {
        this.path = path;
        this.readOnly = readOnly;
        this.channel = channel;
        this.host = host;
        this.capacity = capacity;
    }

    /** Opens and locks {@code path}; every problem is a {@link DiskImageException} naming the file. */
    public static DiskImage open(Path path, boolean readOnly) {
        if (Files.isDirectory(path)) {
            throw new DiskImageException("disk " + path + " is a directory, not a disk image");
        }
        FileChannel channel;
        try {
            channel = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                    : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            throw new DiskImageException("disk image " + path + " does not exist");
        } catch (AccessDeniedException e) {
            throw new DiskImageException("disk image " + path + " cannot be opened for "
                    + (readOnly ? "reading" : "reading and writing") + ": permission denied"
                    + (readOnly ? "" : " (add ,ro to attach it read-only)"));
        } catch (IOException | SecurityException e) {
            throw new DiskImageException("cannot open disk image " + path + ": " + e.getMessage());
        }
        HostFile host = null;
        try {
            host = HostFile.open(path, !readOnly);
            if (!host.tryLock(readOnly)) {
                throw new DiskImageException("disk image " + path + " is in use by another guest"
                        + (readOnly ? " that writes it" : "") + " (it is locked)");
            }
            long size = channel.size();
            if (size < SECTOR_SIZE) {
                throw new DiskImageException("disk image " + path + " is smaller than one 512-byte sector");
            }
            return new DiskImage(path, readOnly, channel, host, size - size % SECTOR_SIZE);
        } catch (IOException | KvmException e) {
            closeQuietly(channel, host);
            throw new DiskImageException("cannot use disk image " + path + ": " + e.getMessage());
        } catch (RuntimeException e) {
            closeQuietly(channel, host);
            throw e;
        }
    }

    private static void closeQuietly(FileChannel channel, HostFile host) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Nothing was written through it.
        }
        if (host != null) {
            host.close();
        }
    }

    public Path path() {
        return path;
    }

    public boolean readOnly() {
        return readOnly;
    }

    /** Usable size in bytes: the file size rounded down to whole sectors. */
    public long capacity() {
        return capacity;
    }

    /**
     * Reads into host buffers (guest RAM, by host address) from {@code position}, in one preadv
     * where the kernel allows; bytes past the end of the file read as zero.
     */
    public void read(long[] addresses, long[] lengths, int count, long position) throws IOException {
        host.readVectored(addresses, lengths, count, position);
    }

    /** Writes host buffers (guest RAM, by host address) at {@code position}, gathering them in one pwritev. */
    public void write(long[] addresses, long[] lengths, int count, long position) throws IOException {
        host.writeVectored(addresses, lengths, count, position);
    }

    /** Makes written data durable (fdatasync). */
    public void flush() throws IOException {
        channel.force(false);
    }

    /** Zeroes {@code [position, position + length)}, deallocating it where the file system can. */
    public void zero(long position, long length) throws IOException {
        if (!readOnly && host.punchHole(position, length)) {
            return;
        }
        ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(length, 1 << 20));
        long done = 0;
        while (done < length) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), length - done));
            while (zeros.hasRemaining()) {
                done += channel.write(zeros, position + done);
            }
        }
    }

    /** Closes the file; the lock goes with it. */
    @Override
    public void close() {
        closeQuietly(channel, host);
    }
}
