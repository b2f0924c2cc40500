package io.stratus.agent.boot;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The bytes of a disk image as its guest would see them, whatever the image's format: what the
 * partition table and superblock readers read, and what debugfs is pointed at.
 */
interface DiskReader extends AutoCloseable {
    /** The disk's size in bytes. */
    long size();

    /**
     * Reads {@code length} bytes at {@code offset} into {@code into}.
     *
     * @throws NotBootableException the range is not on the disk
     */
    void read(long offset, byte[] into, int length) throws IOException;

    /** The image file when it is raw: debugfs reads a filesystem in it in place, at an offset. */
    Optional<Path> rawFile();

    /**
     * Writes {@code [offset, offset + length)} of the disk to a new file {@code target}, leaving
     * holes where the disk has nothing (a sparse copy of a partition, for debugfs).
     */
    void copyOut(long offset, long length, Path target) throws IOException;

    @Override
    void close();

    default void checkRange(long offset, long length) {
        if (offset < 0 || length < 0 || offset > size() || length > size() - offset) {
            throw new NotBootableException("the disk is " + size() + " bytes; [" + offset + ", +" + length
                    + ") is not on it");
        }
    }
}
