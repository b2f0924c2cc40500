package io.stratus.kvm.devices;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * An address space (I/O ports or MMIO) divided among devices. Lookups are lock-free: the range
 * table is replaced, not changed, when a device is added.
 */
public final class Bus {
    private record Range(long base, long length, BusDevice device) {
        long end() {
            return base + length;
        }
    }

    private final String name;
    private volatile Range[] ranges = new Range[0];

    public Bus(String name) {
        this.name = name;
    }

    /** Adds {@code device} at {@code [base, base + length)}; fails if that overlaps another device. */
    public synchronized void register(long base, long length, BusDevice device) {
        if (length <= 0 || base < 0 || base + length < base) {
            throw new IllegalArgumentException("bad " + name + " range 0x" + Long.toHexString(base) + " +" + length);
        }
        for (Range r : ranges) {
            if (base < r.end() && r.base < base + length) {
                throw new IllegalArgumentException(String.format("%s range 0x%x-0x%x overlaps the device at 0x%x-0x%x",
                        name, base, base + length - 1, r.base, r.end() - 1));
            }
        }
        Range[] next = Arrays.copyOf(ranges, ranges.length + 1);
        next[next.length - 1] = new Range(base, length, device);
        Arrays.sort(next, (a, b) -> Long.compare(a.base, b.base));
        ranges = next;
    }

    private Range find(long address, int size) {
        Range[] table = ranges;
        int lo = 0;
        int hi = table.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Range r = table[mid];
            if (address < r.base) {
                hi = mid - 1;
            } else if (address >= r.end()) {
                lo = mid + 1;
            } else {
                return address + size <= r.end() ? r : null;
            }
        }
        return null;
    }

    /** Dispatches a read; returns false (leaving {@code data} untouched) when no device covers it. */
    public boolean read(long address, ByteBuffer data) {
        Range r = find(address, data.remaining());
        if (r == null) {
            return false;
        }
        r.device.read(address - r.base, data);
        return true;
    }

    /** Dispatches a write; returns false when no device covers it. */
    public boolean write(long address, ByteBuffer data) {
        Range r = find(address, data.remaining());
        if (r == null) {
            return false;
        }
        r.device.write(address - r.base, data);
        return true;
    }
}
