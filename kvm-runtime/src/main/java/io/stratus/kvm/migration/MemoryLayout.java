package io.stratus.kvm.migration;

import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.memory.GuestRegion;
import io.stratus.kvm.virtio.block.VirtioBlock;
import io.stratus.kvm.vm.VirtualMachine;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The HELLO frame: the stream's magic and version, and what the target must have to take the
 * guest: the page size, the vCPU count, guest RAM's regions in mapping order, and the disks (size
 * and read-only flag of each, in order, and whether it is on an NBD export), with whether their
 * content travels in the stream (a disk on an NBD export's never does).
 *
 * @param migrateDisks the writable disks' content follows in DISK frames (else the disks are shared)
 */
record MemoryLayout(int pageSize, int vcpus, List<Region> regions, boolean migrateDisks, List<Disk> disks) {
    static final byte[] MAGIC = {'S', 'T', 'R', 'M', 'I', 'G', 'R', 0};
    /** Bump on any change of the stream; a target refuses other versions. 2: disks in HELLO, DISK frames. */
    static final int VERSION = 2;
    private static final int MAX_REGIONS = 16;
    /** As many as a VM configuration allows ({@code VmConfig.MAX_DISKS}). */
    static final int MAX_DISKS = 8;
    private static final int FLAG_MIGRATE_DISKS = 1;
    private static final int DISK_READ_ONLY = 1;
    /**
     * The disk is a volume on an NBD export both hosts reach: its data is never sent, the target
     * connects to the same export. A flag older targets refuse as unknown, which is the truth: they
     * would have opened a file there.
     */
    private static final int DISK_ON_NBD = 2;

    /** A guest-physical range of RAM. */
    record Region(long start, long size) {
        @Override
        public String toString() {
            return "0x" + Long.toHexString(start) + "+" + (size >> 20) + " MiB";
        }
    }

    /**
     * A disk as the guest sees it: its size in bytes (whole sectors), whether it is read-only, and
     * whether its data is on an NBD export (shared, never sent).
     */
    record Disk(long capacity, boolean readOnly, boolean onNbd) {
        Disk(long capacity, boolean readOnly) {
            this(capacity, readOnly, false);
        }

        @Override
        public String toString() {
            return capacity + " bytes" + (readOnly ? " read-only" : "") + (onNbd ? " on NBD" : "");
        }
    }

    MemoryLayout {
        regions = List.copyOf(regions);
        disks = List.copyOf(disks);
    }

    /** A guest without disks. */
    MemoryLayout(int pageSize, int vcpus, List<Region> regions) {
        this(pageSize, vcpus, regions, false, List.of());
    }

    /** A guest without disks. */
    static MemoryLayout of(GuestMemory memory, int vcpus) {
        List<Region> regions = new ArrayList<>();
        for (GuestRegion r : memory.regions()) {
            regions.add(new Region(r.start().value(), r.size()));
        }
        return new MemoryLayout((int) GuestMemory.PAGE_SIZE, vcpus, regions, false, List.of());
    }

    /** {@code vm}'s layout and disks. */
    static MemoryLayout of(VirtualMachine vm, boolean migrateDisks) {
        List<Disk> disks = new ArrayList<>();
        for (VirtioBlock b : vm.blockDevices()) {
            disks.add(new Disk(b.backend().capacity(), b.backend().readOnly(), b.image().isEmpty()));
        }
        MemoryLayout memory = of(vm.memory(), vm.config().vcpus());
        return new MemoryLayout(memory.pageSize, memory.vcpus, memory.regions, migrateDisks, disks);
    }

    /** Whether {@code other} has the same page size, vCPUs and RAM (disks aside). */
    boolean sameMachine(MemoryLayout other) {
        return pageSize == other.pageSize && vcpus == other.vcpus && regions.equals(other.regions);
    }

    long pageCount() {
        long bytes = 0;
        for (Region r : regions) {
            bytes += r.size();
        }
        return bytes / pageSize;
    }

    ByteBuffer encode() {
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 16 + 16 * regions.size() + 8 + 9 * disks.size());
        b.put(MAGIC).putInt(VERSION).putInt(pageSize).putInt(vcpus).putInt(regions.size());
        for (Region r : regions) {
            b.putLong(r.start()).putLong(r.size());
        }
        b.putInt(migrateDisks ? FLAG_MIGRATE_DISKS : 0).putInt(disks.size());
        for (Disk d : disks) {
            b.putLong(d.capacity()).put((byte) ((d.readOnly() ? DISK_READ_ONLY : 0) | (d.onNbd() ? DISK_ON_NBD : 0)));
        }
        return b.flip();
    }

    /** Reads a HELLO payload; anything but this version's layout is a {@link MigrationException}. */
    static MemoryLayout decode(ByteBuffer payload) {
        try {
            byte[] magic = new byte[MAGIC.length];
            payload.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new MigrationException("the peer does not speak the Stratus migration protocol");
            }
            int version = payload.getInt();
            if (version != VERSION) {
                throw new MigrationException("the source speaks migration protocol version " + version
                        + "; this VMM speaks version " + VERSION + ": run the same Stratus release on both hosts");
            }
            int pageSize = payload.getInt();
            int vcpus = payload.getInt();
            int count = payload.getInt();
            if (count < 1 || count > MAX_REGIONS) {
                throw new MigrationException("malformed migration stream: " + count + " memory regions");
            }
            List<Region> regions = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                regions.add(new Region(payload.getLong(), payload.getLong()));
            }
            int flags = payload.getInt();
            if ((flags & ~FLAG_MIGRATE_DISKS) != 0) {
                throw new MigrationException("malformed migration stream: unknown flags 0x" + Integer.toHexString(flags)
                        + " in the handshake");
            }
            int diskCount = payload.getInt();
            if (diskCount < 0 || diskCount > MAX_DISKS) {
                throw new MigrationException("malformed migration stream: " + (diskCount & 0xffffffffL) + " disks");
            }
            List<Disk> disks = new ArrayList<>();
            for (int i = 0; i < diskCount; i++) {
                long capacity = payload.getLong();
                int diskFlags = payload.get() & 0xff;
                if (capacity <= 0 || capacity % 512 != 0 || (diskFlags & ~(DISK_READ_ONLY | DISK_ON_NBD)) != 0) {
                    throw new MigrationException("malformed migration stream: disk " + i + " of " + capacity
                            + " bytes with flags 0x" + Integer.toHexString(diskFlags));
                }
                disks.add(new Disk(capacity, (diskFlags & DISK_READ_ONLY) != 0, (diskFlags & DISK_ON_NBD) != 0));
            }
            if (payload.hasRemaining()) {
                throw new MigrationException("malformed migration stream: " + payload.remaining()
                        + " bytes after the handshake's disks");
            }
            return new MemoryLayout(pageSize, vcpus, regions, (flags & FLAG_MIGRATE_DISKS) != 0, disks);
        } catch (BufferUnderflowException e) {
            throw new MigrationException("malformed migration stream: the handshake is cut short");
        }
    }

    /** The machine, without the disks (see {@link #disks()}). */
    @Override
    public String toString() {
        return vcpus + " vCPUs, " + (pageCount() * pageSize >> 20) + " MiB in " + regions + ", pages of " + pageSize;
    }
}
