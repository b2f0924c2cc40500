package io.stratus.kvm.persist;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Reads what a {@link StateWriter} wrote, from bytes that are untrusted (a file on disk, a
 * migration stream): every length and count is bounded before anything is allocated for it, so
 * a hostile or corrupt input is a {@link StateFormatException}, never a huge allocation.
 */
public final class StateReader {
    /** The longest byte array a record may claim (the largest, an XSAVE area, is 4 KiB). */
    public static final int MAX_BLOB = 1 << 20;
    /** The longest list a record may claim (MSRs, vCPUs, queues, devices). */
    public static final int MAX_COUNT = 4096;

    private final DataInputStream in;
    private final ByteArrayInputStream bytes;

    public StateReader(byte[] data) {
        this(data, 0, data.length);
    }

    public StateReader(byte[] data, int offset, int length) {
        this.bytes = new ByteArrayInputStream(data, offset, length);
        this.in = new DataInputStream(bytes);
    }

    public int readInt() {
        try {
            return in.readInt();
        } catch (IOException e) {
            throw failure(e);
        }
    }

    public long readLong() {
        try {
            return in.readLong();
        } catch (IOException e) {
            throw failure(e);
        }
    }

    /** A signed byte, as {@link DataInputStream#readByte} gives it. */
    public byte readByte() {
        try {
            return in.readByte();
        } catch (IOException e) {
            throw failure(e);
        }
    }

    public boolean readBoolean() {
        try {
            return in.readBoolean();
        } catch (IOException e) {
            throw failure(e);
        }
    }

    public String readUTF() {
        try {
            return in.readUTF();
        } catch (IOException e) {
            throw failure(e);
        }
    }

    /** A byte array written by {@link StateWriter#writeBlob}, at most {@link #MAX_BLOB} bytes. */
    public byte[] readBlob() {
        int n = readInt();
        if (n < 0 || n > MAX_BLOB) {
            throw new StateFormatException("a field claims " + n + " bytes");
        }
        byte[] b = new byte[n];
        try {
            in.readFully(b);
        } catch (IOException e) {
            throw failure(e);
        }
        return b;
    }

    /** A list's size written by {@link StateWriter#writeCount}, at most {@link #MAX_COUNT}. */
    public int readCount() {
        int n = readInt();
        if (n < 0 || n > MAX_COUNT) {
            throw new StateFormatException("a list claims " + n + " entries");
        }
        return n;
    }

    /** How many bytes are left unread. */
    public int remaining() {
        return bytes.available();
    }

    private static StateFormatException failure(IOException e) {
        if (e instanceof EOFException) {
            return new StateFormatException.Truncated(e);
        }
        // A UTFDataFormatException: the bytes of a string are not modified UTF-8.
        return new StateFormatException(e.getMessage(), e);
    }
}
