package io.stratus.kvm.migration;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.Arrays;
import java.util.Set;

/**
 * Reads frames from a channel, as hostile input: an unknown type, a length above its type's
 * limit or a frame the reader does not expect here is a {@link MigrationException} before any
 * payload is read, and a large payload is allocated only as its bytes arrive.
 */
final class FrameReader {
    private static final int CHUNK = 1 << 20;

    private final ReadableByteChannel channel;
    private final String peer;
    private final ByteBuffer header = ByteBuffer.allocate(Frame.HEADER_SIZE);
    /** Allocated at the first PAGES frame: the source reads none. */
    private ByteBuffer pages;
    /** Allocated at the first DISK frame: most migrations send none. */
    private ByteBuffer disk;
    private long bytes;

    /** @param peer "the source" or "the target", for messages */
    FrameReader(ReadableByteChannel channel, String peer) {
        this.channel = channel;
        this.peer = peer;
    }

    /** Bytes read so far. */
    long bytes() {
        return bytes;
    }

    /**
     * The next frame, which must be one of {@code expected}. The payload buffer of a PAGES or DISK
     * frame is reused by the next call.
     *
     * @throws MigrationException the peer closed the stream, or sent a malformed or unexpected frame
     * @throws IOException the channel failed
     */
    Frame next(Set<Frame.Type> expected) throws IOException {
        header.clear();
        if (!fill(header)) {
            throw new MigrationException(peer + " closed the connection" + (header.position() == 0 ? "" : " mid-frame"));
        }
        header.flip();
        int code = header.get() & 0xff;
        long length = header.getInt() & 0xffffffffL;
        Frame.Type type = Frame.Type.of(code);
        if (type == null) {
            throw new MigrationException("malformed migration stream from " + peer + ": unknown frame type 0x"
                    + Integer.toHexString(code));
        }
        if (!expected.contains(type)) {
            throw new MigrationException("malformed migration stream from " + peer + ": a " + type
                    + " frame where " + expected + " was expected");
        }
        if (length > type.maxPayload) {
            throw new MigrationException("malformed migration stream from " + peer + ": a " + type + " frame of "
                    + length + " bytes, more than its limit of " + type.maxPayload);
        }
        int n = (int) length;
        ByteBuffer payload;
        if (type == Frame.Type.PAGES || type == Frame.Type.DISK) {
            if (type == Frame.Type.DISK && disk == null) {
                disk = ByteBuffer.allocate(Frame.MAX_DISK_PAYLOAD);
            }
            if (type == Frame.Type.PAGES && pages == null) {
                pages = ByteBuffer.allocate(Frame.MAX_PAGES_PAYLOAD);
            }
            payload = (type == Frame.Type.PAGES ? pages : disk).clear().limit(n);
            if (!fill(payload)) {
                throw truncated(type, n, payload.position());
            }
        } else {
            payload = readGrowing(type, n);
        }
        payload.flip();
        return new Frame(type, payload);
    }

    /** Reads {@code n} bytes, growing the buffer as they arrive rather than trusting {@code n} up front. */
    private ByteBuffer readGrowing(Frame.Type type, int n) throws IOException {
        byte[] data = new byte[Math.min(n, CHUNK)];
        int done = 0;
        while (done < n) {
            if (done == data.length) {
                data = Arrays.copyOf(data, (int) Math.min(n, 2L * data.length));
            }
            ByteBuffer part = ByteBuffer.wrap(data, done, data.length - done);
            if (!fill(part)) {
                throw truncated(type, n, part.position());
            }
            done = data.length;
        }
        return ByteBuffer.wrap(data).position(n);
    }

    private MigrationException truncated(Frame.Type type, int n, int got) {
        return new MigrationException(peer + " closed the connection inside a " + type + " frame (" + got + " of " + n
                + " bytes)");
    }

    /** Reads until {@code buffer} is full; false at end of stream before that. */
    private boolean fill(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer);
            if (n < 0) {
                return false;
            }
            bytes += n;
        }
        return true;
    }
}
