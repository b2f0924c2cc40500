package io.stratus.kvm.migration;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.OptionalLong;

/** Writes frames to a channel, paced to a bandwidth limit when there is one, counting bytes. */
final class FrameWriter {
    private final WritableByteChannel channel;
    private final long limit;
    private final ByteBuffer header = ByteBuffer.allocate(Frame.HEADER_SIZE);
    private final long startNanos = System.nanoTime();
    private long bytes;

    FrameWriter(WritableByteChannel channel, OptionalLong bytesPerSecond) {
        this.channel = channel;
        this.limit = bytesPerSecond.orElse(0);
    }

    long bytes() {
        return bytes;
    }

    /** Writes one frame of {@code type} with {@code payload}'s remaining bytes. */
    void write(Frame.Type type, ByteBuffer payload) throws IOException, InterruptedException {
        if (payload.remaining() > type.maxPayload) {
            throw new IllegalArgumentException(type + " payload of " + payload.remaining() + " bytes");
        }
        header.clear().put((byte) type.code).putInt(payload.remaining()).flip();
        drain(header);
        drain(payload);
        pace();
    }

    void write(Frame.Type type) throws IOException, InterruptedException {
        write(type, ByteBuffer.allocate(0));
    }

    private void drain(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            bytes += channel.write(buffer);
        }
    }

    /** Sleeps until the bytes written so far fit the limit. */
    private void pace() throws InterruptedException {
        if (limit <= 0) {
            return;
        }
        long due = startNanos + (long) (bytes * 1e9 / limit);
        long wait = due - System.nanoTime();
        if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
    }
}
