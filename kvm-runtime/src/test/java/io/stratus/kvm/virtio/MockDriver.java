package io.stratus.kvm.virtio;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;

/**
 * The driver side of a split virtqueue, written in Java against {@link GuestMemory}: builds
 * descriptor tables and rings the way a guest would (or deliberately would not), so that queue
 * and device code can be tested without KVM.
 */
public final class MockDriver {
    public static final long DESC = 0x10000;
    public static final long AVAIL = 0x11000;
    public static final long USED = 0x12000;
    public static final long BUFFERS = 0x20000;

    private final GuestMemory memory;
    private final int size;
    private final long descTable;
    private final long availRing;
    private final long usedRing;
    private int availIdx;
    private int lastUsed;
    private long nextBuffer;

    public MockDriver(GuestMemory memory, int size, long base) {
        this.memory = memory;
        this.size = size;
        this.descTable = base + DESC;
        this.availRing = base + AVAIL;
        this.usedRing = base + USED;
        this.nextBuffer = base + BUFFERS;
        memory.fill(GuestAddress.of(base + DESC), 0x3000, (byte) 0);
    }

    public MockDriver(GuestMemory memory, int size) {
        this(memory, size, 0);
    }

    /** Points {@code queue} at this driver's rings, as the transport registers would. */
    public VirtQueue configure(VirtQueue queue) {
        queue.setSize(size);
        queue.setDescriptorTable(descTable);
        queue.setAvailRing(availRing);
        queue.setUsedRing(usedRing);
        queue.setReady(true);
        return queue;
    }

    /** Allocates {@code length} bytes of buffer space (16-byte aligned) and returns its address. */
    public long allocate(int length) {
        long at = nextBuffer;
        nextBuffer += (length + 15) & ~15L;
        return at;
    }

    /** Writes descriptor {@code index}. */
    public void descriptor(int index, long address, int length, int flags, int next) {
        writeDescriptor(descTable, index, address, length, flags, next);
    }

    public void writeDescriptor(long table, int index, long address, int length, int flags, int next) {
        GuestAddress d = GuestAddress.of(table + 16L * index);
        memory.writeLong(d, address);
        memory.writeInt(d.add(8), length);
        memory.writeShort(d.add(12), (short) flags);
        memory.writeShort(d.add(14), (short) next);
    }

    /** Puts {@code head} in the next available slot and publishes it. */
    public void publish(int head) {
        memory.writeShort(GuestAddress.of(availRing + 4 + 2L * (availIdx % size)), (short) head);
        availIdx = (availIdx + 1) & 0xffff;
        memory.writeShort(GuestAddress.of(availRing + 2), (short) availIdx);
    }

    /** Sets the available index directly (a hostile driver may). */
    public void setAvailIndex(int value) {
        availIdx = value & 0xffff;
        memory.writeShort(GuestAddress.of(availRing + 2), (short) availIdx);
    }

    public void setAvailFlags(int flags) {
        memory.writeShort(GuestAddress.of(availRing), (short) flags);
    }

    public void setUsedEvent(int value) {
        memory.writeShort(GuestAddress.of(availRing + 4 + 2L * size), (short) value);
    }

    public int availEvent() {
        return memory.readShort(GuestAddress.of(usedRing + 4 + 8L * size)) & 0xffff;
    }

    public int usedIndex() {
        return memory.readShort(GuestAddress.of(usedRing + 2)) & 0xffff;
    }

    /** A used element: the chain's head and the bytes written. */
    public record Used(int head, int length) {
    }

    /** The next used element the driver has not consumed yet, or null. */
    public Used takeUsed() {
        if (usedIndex() == lastUsed) {
            return null;
        }
        GuestAddress e = GuestAddress.of(usedRing + 4 + 8L * (lastUsed % size));
        lastUsed = (lastUsed + 1) & 0xffff;
        return new Used(memory.readInt(e), memory.readInt(e.add(4)));
    }
}
