package io.stratus.agent.boot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/** A raw image: the file is the disk. */
final class RawDisk implements DiskReader {
    private final Path file;
    private final FileChannel channel;
    private final long size;

    private RawDisk(Path file, FileChannel channel, long size) {
        this.file = file;
        this.channel = channel;
        this.size = size;
    }

    static RawDisk open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return new RawDisk(file, ch, ch.size());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(long offset, byte[] into, int length) throws IOException {
        checkRange(offset, length);
        ByteBuffer b = ByteBuffer.wrap(into, 0, length);
        while (b.hasRemaining()) {
            int n = channel.read(b, offset + b.position());
            if (n < 0) {
                throw new IOException(file + " ended at " + (offset + b.position()) + " while it was read");
            }
        }
    }

    @Override
    public Optional<Path> rawFile() {
        return Optional.of(file);
    }

    @Override
    public void copyOut(long offset, long length, Path target) throws IOException {
        checkRange(offset, length);
        SparseCopy.copy(this::read, offset, length, target);
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
