package io.stratus.kvm.migration;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.stratus.kvm.virtio.block.DiskImage;
import java.io.IOException;
import java.util.Arrays;

/** Writes and reads whole byte arrays of a disk image the way the block device does, from native memory. */
final class DiskBytes {
    private DiskBytes() {
    }

    static void write(DiskImage disk, long offset, byte[] data) throws IOException {
        try (Memory m = new Memory(data.length)) {
            m.write(0, data, 0, data.length);
            disk.write(new long[] {Pointer.nativeValue(m)}, new long[] {data.length}, 1, offset);
        }
    }

    /** What the guest reads from the whole disk. */
    static byte[] readAll(DiskImage disk) throws IOException {
        try (Memory m = new Memory(disk.capacity())) {
            disk.read(new long[] {Pointer.nativeValue(m)}, new long[] {disk.capacity()}, 1, 0);
            return m.getByteArray(0, (int) disk.capacity());
        }
    }

    static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }
}
