package io.stratus.kvm.virtio;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.persist.Persist;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A split virtqueue (virtio 1.2, section 2.7), read as hostile input. The guest owns the
 * descriptor table and the available ring, and may change them at any time; every index,
 * address, length and link is checked before it is used, chains are bounded by the queue size,
 * and an available index that jumps marks the queue broken instead of being trusted.
 *
 * <p>Configuration (size, ring addresses, ready) comes from the transport on vCPU threads before
 * the driver starts the device; {@link #pop}, {@link #addUsed} and the notification methods belong
 * to the one thread that serves the queue.
 */
public final class VirtQueue implements Persist<VirtQueueState> {
    public static final int DESC_F_NEXT = 1;
    public static final int DESC_F_WRITE = 2;
    public static final int DESC_F_INDIRECT = 4;
    /** Available ring flag: the driver does not want interrupts (when EVENT_IDX is off). */
    public static final int AVAIL_F_NO_INTERRUPT = 1;
    static final int DESCRIPTOR_SIZE = 16;
    /** The largest request the VMM accepts in one chain, whatever the guest claims. */
    public static final long MAX_CHAIN_BYTES = 1L << 30;

    private final int maxSize;
    private volatile int size;
    private volatile boolean ready;
    private volatile long descTable;
    private volatile long availRing;
    private volatile long usedRing;
    private volatile boolean eventIdx;

    private int nextAvail;
    private int nextUsed;
    private int signalledUsed = -1;

    public VirtQueue(int maxSize) {
        if (maxSize <= 0 || maxSize > 32768 || Integer.bitCount(maxSize) != 1) {
            throw new IllegalArgumentException("queue size must be a power of two up to 32768, not " + maxSize);
        }
        this.maxSize = maxSize;
        this.size = maxSize;
    }

    public int maxSize() {
        return maxSize;
    }

    public int size() {
        return size;
    }

    /** QueueNum: the size the driver chose. Validated when the queue is used ({@link #isValid}). */
    public void setSize(int value) {
        this.size = value;
    }

    public boolean isReady() {
        return ready;
    }

    public void setReady(boolean value) {
        this.ready = value;
    }

    public long descriptorTable() {
        return descTable;
    }

    public long availRing() {
        return availRing;
    }

    public long usedRing() {
        return usedRing;
    }

    public void setDescriptorTable(long address) {
        this.descTable = address;
    }

    public void setAvailRing(long address) {
        this.availRing = address;
    }

    public void setUsedRing(long address) {
        this.usedRing = address;
    }

    /** Whether VIRTIO_F_RING_EVENT_IDX was negotiated. */
    public void setEventIdx(boolean value) {
        this.eventIdx = value;
    }

    /** The next available-ring slot the device will read (the count of chains taken, mod 2^16). */
    public int nextAvail() {
        return nextAvail;
    }

    /** The next used-ring slot the device will write. */
    public int nextUsed() {
        return nextUsed;
    }

    /** Back to the state after a device reset. */
    public void reset() {
        size = maxSize;
        ready = false;
        descTable = 0;
        availRing = 0;
        usedRing = 0;
        eventIdx = false;
        nextAvail = 0;
        nextUsed = 0;
        signalledUsed = -1;
    }

    /**
     * Whether the queue can be used: a power-of-two size within the maximum, and the descriptor
     * table and both rings aligned and inside guest RAM.
     */
    public boolean isValid(GuestMemory memory) {
        int n = size;
        if (n <= 0 || n > maxSize || Integer.bitCount(n) != 1) {
            return false;
        }
        return descTable % 16 == 0 && availRing % 2 == 0 && usedRing % 4 == 0
                && inMemory(memory, descTable, (long) DESCRIPTOR_SIZE * n)
                && inMemory(memory, availRing, 6 + 2L * n)
                && inMemory(memory, usedRing, 6 + 8L * n);
    }

    private static boolean inMemory(GuestMemory memory, long address, long length) {
        return address >= 0 && memory.isValidRange(GuestAddress.of(address), length);
    }

    private void checkRings(GuestMemory memory) throws VirtQueueException {
        if (!isValid(memory)) {
            throw new VirtQueueException(VirtQueueException.Kind.RING_OUTSIDE_MEMORY, -1,
                    "queue of size " + size + " has its rings outside guest RAM or misaligned");
        }
    }

    /** Whether the driver has made chains available that the device has not taken. */
    public boolean hasAvailable(GuestMemory memory) throws VirtQueueException {
        checkRings(memory);
        return availIndex(memory) != nextAvail;
    }

    private int availIndex(GuestMemory memory) {
        int idx = memory.readShort(GuestAddress.of(availRing + 2)) & 0xffff;
        // Ring entries written before the index must be read after it.
        VarHandle.acquireFence();
        return idx;
    }

    /**
     * Takes the next available chain, or returns null when there is none.
     *
     * @throws VirtQueueException when the chain or the queue is malformed; for a chain error the
     *         chain has been taken (the caller returns it as used, failed) and the queue goes on
     */
    public DescriptorChain pop(GuestMemory memory) throws VirtQueueException {
        checkRings(memory);
        int n = size;
        int avail = availIndex(memory);
        int pending = (avail - nextAvail) & 0xffff;
        if (pending == 0) {
            return null;
        }
        if (pending > n) {
            throw new VirtQueueException(VirtQueueException.Kind.AVAIL_INDEX_JUMP, -1, "available index moved from "
                    + nextAvail + " to " + avail + ", more than the queue size " + n);
        }
        int head = memory.readShort(GuestAddress.of(availRing + 4 + 2L * (nextAvail % n))) & 0xffff;
        nextAvail = (nextAvail + 1) & 0xffff;
        if (head >= n) {
            throw new VirtQueueException(VirtQueueException.Kind.DESCRIPTOR_INDEX_OUT_OF_RANGE, -1,
                    "available ring names descriptor " + head + " of a queue of size " + n);
        }
        return new DescriptorChain(head, walk(memory, head, n));
    }

    /**
     * Takes the next available chain, or returns null when there is none. A broken chain after
     * which the queue goes on (a bad descriptor index, a loop, a buffer outside guest memory) is
     * returned to the driver at once as used with length 0, reported to {@code onReturned}, and
     * the next chain is tried: devices treat every such chain alike.
     *
     * @throws VirtQueueException when the queue itself is unusable (the device needs a reset)
     */
    public DescriptorChain popOrReturnBroken(GuestMemory memory, Consumer<VirtQueueException> onReturned)
            throws VirtQueueException {
        while (true) {
            try {
                return pop(memory);
            } catch (VirtQueueException e) {
                if (e.kind().fatalForQueue() || e.head() < 0) {
                    throw e;
                }
                addUsed(memory, e.head(), 0);
                onReturned.accept(e);
            }
        }
    }

    private List<Descriptor> walk(GuestMemory memory, int head, int n) throws VirtQueueException {
        List<Descriptor> out = new ArrayList<>();
        long table = descTable;
        int tableSize = n;
        boolean indirect = false;
        int index = head;
        int visited = 0;
        long total = 0;
        boolean sawWritable = false;
        while (true) {
            if (index >= tableSize) {
                throw chainError(VirtQueueException.Kind.DESCRIPTOR_INDEX_OUT_OF_RANGE, head,
                        "descriptor " + index + " is beyond a table of " + tableSize);
            }
            if (++visited > n) {
                throw chainError(VirtQueueException.Kind.CHAIN_TOO_LONG, head,
                        "chain is longer than the queue size " + n + " (a loop?)");
            }
            GuestAddress d = GuestAddress.of(table + (long) DESCRIPTOR_SIZE * index);
            long addr = memory.readLong(d);
            int len = memory.readInt(d.add(8));
            int flags = memory.readShort(d.add(12)) & 0xffff;
            int next = memory.readShort(d.add(14)) & 0xffff;
            long length = len & 0xffffffffL;

            if ((flags & DESC_F_INDIRECT) != 0) {
                if (indirect || (flags & DESC_F_NEXT) != 0) {
                    throw chainError(VirtQueueException.Kind.BAD_INDIRECT_TABLE, head,
                            indirect ? "indirect table inside an indirect table" : "indirect descriptor with NEXT set");
                }
                if (length == 0 || length % DESCRIPTOR_SIZE != 0 || length / DESCRIPTOR_SIZE > n) {
                    throw chainError(VirtQueueException.Kind.BAD_INDIRECT_TABLE, head,
                            "indirect table of " + length + " bytes (1 to " + n + " descriptors of 16 bytes)");
                }
                if (addr < 0 || !memory.isValidRange(GuestAddress.of(addr), length)) {
                    throw chainError(VirtQueueException.Kind.BUFFER_OUTSIDE_MEMORY, head,
                            "indirect table at 0x" + Long.toHexString(addr) + " is outside guest RAM");
                }
                indirect = true;
                table = addr;
                tableSize = (int) (length / DESCRIPTOR_SIZE);
                index = 0;
                visited = 0;
                continue;
            }
            if (length > 0) {
                if (addr < 0 || !memory.isValidRange(GuestAddress.of(addr), length)) {
                    throw chainError(VirtQueueException.Kind.BUFFER_OUTSIDE_MEMORY, head, "buffer at 0x"
                            + Long.toHexString(addr) + " of " + length + " bytes is outside guest RAM");
                }
                boolean writable = (flags & DESC_F_WRITE) != 0;
                if (!writable && sawWritable) {
                    throw chainError(VirtQueueException.Kind.READABLE_AFTER_WRITABLE, head,
                            "device-readable buffer after a device-writable one");
                }
                sawWritable |= writable;
                total += length;
                if (total > MAX_CHAIN_BYTES) {
                    throw chainError(VirtQueueException.Kind.CHAIN_TOO_LARGE, head,
                            "chain buffers add up to more than " + MAX_CHAIN_BYTES + " bytes");
                }
                out.add(new Descriptor(GuestAddress.of(addr), len, writable));
            }
            if ((flags & DESC_F_NEXT) == 0) {
                return out;
            }
            index = next;
        }
    }

    private static VirtQueueException chainError(VirtQueueException.Kind kind, int head, String message) {
        return new VirtQueueException(kind, head, "chain " + head + ": " + message);
    }

    /**
     * Gives back the last {@code count} chains taken by {@link #pop} and not yet used: they will be
     * popped again. For devices that must see several buffers before they can use any (a received
     * frame spread over mergeable buffers).
     */
    public void unpop(int count) {
        if (count < 0 || count > size) {
            throw new IllegalArgumentException("cannot give back " + count + " chains");
        }
        nextAvail = (nextAvail - count) & 0xffff;
    }

    /** Returns chain {@code head} to the guest with {@code written} bytes written into its buffers. */
    public void addUsed(GuestMemory memory, int head, int written) {
        int n = size;
        GuestAddress elem = GuestAddress.of(usedRing + 4 + 8L * (nextUsed % n));
        memory.writeInt(elem, head);
        memory.writeInt(elem.add(4), written);
        nextUsed = (nextUsed + 1) & 0xffff;
        // The element must be visible before the index that publishes it.
        VarHandle.releaseFence();
        memory.writeShort(GuestAddress.of(usedRing + 2), (short) nextUsed);
    }

    /**
     * Whether the guest asked to be interrupted for the used entries added since the last call:
     * with EVENT_IDX, when the used index passed {@code used_event}; without it, unless the driver
     * set NO_INTERRUPT.
     */
    public boolean shouldNotify(GuestMemory memory) {
        // Our used-index store must be ordered before reading the driver's suppression fields.
        VarHandle.fullFence();
        int n = size;
        if (!eventIdx) {
            return (memory.readShort(GuestAddress.of(availRing)) & AVAIL_F_NO_INTERRUPT) == 0;
        }
        int usedEvent = memory.readShort(GuestAddress.of(availRing + 4 + 2L * n)) & 0xffff;
        int old = signalledUsed;
        int now = nextUsed;
        signalledUsed = now;
        if (old < 0) {
            return true;
        }
        return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
    }

    /**
     * Tells the driver (with EVENT_IDX) to notify when it makes the next chain available, and
     * returns whether chains arrived meanwhile, which the caller must then process first.
     */
    public boolean enableNotification(GuestMemory memory) throws VirtQueueException {
        checkRings(memory);
        if (eventIdx) {
            memory.writeShort(GuestAddress.of(usedRing + 4 + 8L * size), (short) nextAvail);
        }
        VarHandle.fullFence();
        return availIndex(memory) != nextAvail;
    }

    /** The device-side indices, for snapshots. */
    @Override
    public VirtQueueState save() {
        return new VirtQueueState(size, ready, descTable, availRing, usedRing, eventIdx, nextAvail, nextUsed);
    }

    /**
     * Restores device-side state saved by {@link #save()}. The driver's part (size, addresses) is
     * taken as a driver could have written it, and checked when the queue is used ({@link #isValid});
     * the device's ring indices are 16-bit counters, or nothing changes.
     */
    @Override
    public void restore(VirtQueueState state) {
        check(state);
        size = state.size();
        ready = state.ready();
        descTable = state.descriptorTable();
        availRing = state.availRing();
        usedRing = state.usedRing();
        eventIdx = state.eventIdx();
        nextAvail = state.nextAvail();
        nextUsed = state.nextUsed();
        signalledUsed = -1;
    }

    /**
     * Refuses a saved queue no device could have had: ring indices beyond 16 bits.
     *
     * @throws IllegalArgumentException with what is wrong
     */
    static void check(VirtQueueState state) {
        if (state.nextAvail() < 0 || state.nextAvail() > 0xffff || state.nextUsed() < 0 || state.nextUsed() > 0xffff) {
            throw new IllegalArgumentException("virtqueue state: ring indices " + state.nextAvail() + " and "
                    + state.nextUsed() + " are not 16-bit");
        }
    }
}
