package io.stratus.kvm.devices;

import java.nio.ByteBuffer;

/**
 * Ports guests write to without expecting an answer, such as the POST code port 0x80 (Linux's
 * I/O delay) and 0xED: reads float high, writes are dropped, and neither is logged as unknown.
 */
public final class IgnoredPorts implements BusDevice {
    public static final int POST_PORT = 0x80;
    public static final int ALT_DELAY_PORT = 0xed;

    @Override
    public void read(long offset, ByteBuffer data) {
        int p = data.position();
        for (int i = 0; i < data.remaining(); i++) {
            data.put(p + i, (byte) 0xff);
        }
    }

    @Override
    public void write(long offset, ByteBuffer data) {
        // Deliberately nothing.
    }
}
