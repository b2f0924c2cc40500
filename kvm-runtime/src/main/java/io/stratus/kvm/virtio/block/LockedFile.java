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
 * An image file opened and locked for one guest: exclusively when writable, shared when
 * read-only. The locks are open-file-description locks, so they hold between guests in one JVM as
 * well as between processes. Every format opens its files through here, so every format refuses
 * a missing, unreadable or busy file with the same words.
 */
final class LockedFile implements AutoCloseable {
    final Path path;
    final boolean readOnly;
    /** Positional reads and writes of metadata. */
    final FileChannel channel;
    /** Vectored data transfers between the file and guest RAM, the lock, and hole punching. */
    final HostFile host;

    private LockedFile(Path path, boolean readOnly, FileChannel channel, HostFile host) {
        this.path = path;
        this.readOnly = readOnly;
        this.channel = channel;
        this.host = host;
    }

    /** Opens and locks {@code path}; every problem is a {@link DiskImageException} naming the file. */
    static LockedFile open(Path path, boolean readOnly) {
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
            return new LockedFile(path, readOnly, channel, host);
        } catch (KvmException e) {
            closeQuietly(channel, host);
            throw new DiskImageException("cannot use disk image " + path + ": " + e.getMessage());
        } catch (RuntimeException e) {
            closeQuietly(channel, host);
            throw e;
        }
    }

    long size() throws IOException {
        return channel.size();
    }

    /** Reads up to {@code buffer.remaining()} bytes at {@code position}; fewer only at the end of the file. */
    int readAt(ByteBuffer buffer, long position) throws IOException {
        int total = 0;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    /** Writes all of {@code buffer} at {@code position}. */
    void writeAt(ByteBuffer buffer, long position) throws IOException {
        long done = 0;
        while (buffer.hasRemaining()) {
            done += channel.write(buffer, position + done);
        }
    }

    private static void closeQuietly(FileChannel channel, HostFile host) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Closing releases the descriptor whatever it reports; nothing is lost that flush did not keep.
        }
        if (host != null) {
            host.close();
        }
    }

    /** Closes the file; the lock goes with it. */
    @Override
    public void close() {
        closeQuietly(channel, host);
    }
}
