package io.stratus.agent.boot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.LongPredicate;

/** Copies a range of a disk into a new file, leaving holes for blocks of zeros. */
final class SparseCopy {
    static final int BLOCK = 1 << 20;

    private SparseCopy() {
    }

    /** How a disk's bytes are read. */
    @FunctionalInterface
    interface Source {
        void read(long offset, byte[] into, int length) throws IOException;
    }

    static void copy(Source source, long offset, long length, Path target) throws IOException {
        copy(source, offset, length, target, at -> true);
    }

    /**
     * @param mayHoldData whether the {@link #BLOCK}-aligned disk block at an offset may hold data;
     *                    blocks it rules out are not read at all
     */
    static void copy(Source source, long offset, long length, Path target, LongPredicate mayHoldData)
            throws IOException {
        byte[] block = new byte[BLOCK];
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long done = 0;
            while (done < length) {
                long at = offset + done;
                // Up to the next block boundary of the disk, so that each read is one disk block at most.
                int n = (int) Math.min(length - done, BLOCK - Math.floorMod(at, (long) BLOCK));
                if (mayHoldData.test(at - Math.floorMod(at, (long) BLOCK))) {
                    source.read(at, block, n);
                    if (!zeros(block, n)) {
                        ByteBuffer data = ByteBuffer.wrap(block, 0, n);
                        long to = done;
                        while (data.hasRemaining()) {
                            to += out.write(data, to);
                        }
                    }
                }
                done += n;
            }
            // The file is the range's size even where it ends in a hole.
            if (length > 0 && out.size() < length) {
                out.write(ByteBuffer.allocate(1), length - 1);
            }
        }
    }

    private static boolean zeros(byte[] block, int length) {
        for (int i = 0; i < length; i++) {
            if (block[i] != 0) {
                return false;
            }
        }
        return true;
    }
}
