package io.stratus.kvm.migration;

import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.memory.GuestRegion;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The HELLO frame: the stream's magic and version, and what the target must have to take the
 * guest: the page size, the vCPU count and guest RAM's regions in mapping order.
 */
record MemoryLayout(int pageSize, int vcpus, List<Region> regions) {
    static final byte[] MAGIC = {'S', 'T', 'R', 'M', 'I', 'G', 'R', 0};
    /** Bump on any change of the stream; a target refuses other versions. */
    static final int VERSION = 1;
    private static final int MAX_REGIONS = 16;

    /** A guest-physical range of RAM. */
    record Region(long start, long size) {
        @Override
        public String toString() {
            return "0x" + Long.toHexString(start) + "+" + (size >> 20) + " MiB";
        }
    }

    MemoryLayout {
        regions = List.copyOf(regions);
    }

    static MemoryLayout of(GuestMemory memory, int vcpus) {
        List<Region> regions = new ArrayList<>();
        for (GuestRegion r : memory.regions()) {
            regions.add(new Region(r.start().value(), r.size()));
        }
        return new MemoryLayout((int) GuestMemory.PAGE_SIZE, vcpus, regions);
    }

    long pageCount() {
        long bytes = 0;
        for (Region r : regions) {
            bytes += r.size();
        }
        return bytes / pageSize;
    }

    ByteBuffer encode() {
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 16 + 16 * regions.size());
        b.put(MAGIC).putInt(VERSION).putInt(pageSize).putInt(vcpus).putInt(regions.size());
        for (Region r : regions) {
            b.putLong(r.start()).putLong(r.size());
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
            if (payload.hasRemaining()) {
                throw new MigrationException("malformed migration stream: " + payload.remaining()
                        + " bytes after the memory layout");
            }
            return new MemoryLayout(pageSize, vcpus, regions);
        } catch (BufferUnderflowException e) {
            throw new MigrationException("malformed migration stream: the memory layout is cut short");
        }
    }

    @Override
    public String toString() {
        return vcpus + " vCPUs, " + (pageCount() * pageSize >> 20) + " MiB in " + regions + ", pages of " + pageSize;
    }
}
