package io.stratus.kvm.persist;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Writes state records' fields big-endian, as {@link DataOutputStream} does (the encoding of
 * every snapshot format so far, so files stay byte for byte what they were): numbers, flags,
 * modified-UTF-8 strings, and byte arrays and list sizes each preceded by their length.
 * Writes go to memory; {@link #toByteArray} returns them.
 */
public final class StateWriter {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final DataOutputStream out = new DataOutputStream(bytes);

    public StateWriter writeInt(int v) {
        try {
            out.writeInt(v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    public StateWriter writeLong(long v) {
        try {
            out.writeLong(v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    public StateWriter writeByte(int v) {
        try {
            out.writeByte(v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    public StateWriter writeBoolean(boolean v) {
        try {
            out.writeBoolean(v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** A string of at most 65,535 bytes in modified UTF-8, after its length as two bytes. */
    public StateWriter writeUTF(String v) {
        try {
            out.writeUTF(v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** Bytes as they are, with no length: a header such as a magic. */
    public StateWriter writeRaw(byte[] v) {
        try {
            out.write(v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** A byte array after its length (a four-byte count), read back by {@link StateReader#readBlob}. */
    public StateWriter writeBlob(byte[] v) {
        writeInt(v.length);
        return writeRaw(v);
    }

    /** A list's size, read back by {@link StateReader#readCount}. */
    public StateWriter writeCount(int n) {
        return writeInt(n);
    }

    /** What has been written so far. */
    public byte[] toByteArray() {
        return bytes.toByteArray();
    }
}
