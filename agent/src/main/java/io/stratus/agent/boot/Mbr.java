package io.stratus.agent.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The master boot record in a disk's first sector: its four primary partition entries, checked
 * (status byte, bounds, overlaps). Logical partitions inside an extended partition are not read.
 */
final class Mbr {
    static final int SECTOR = 512;
    static final int PROTECTIVE = 0xee;
    private static final int ENTRIES_AT = 446;
    private static final int ENTRY_SIZE = 16;
    private static final Map<Integer, String> TYPES = Map.of(0x83, "Linux", 0x82, "Linux swap", 0x05, "extended",
            0x0f, "extended", 0x85, "Linux extended", 0xef, "EFI system", 0x0c, "FAT32", 0x0b, "FAT32", 0x07,
            "NTFS/exFAT", PROTECTIVE, "GPT protective");

    /** One entry as it is written, type 0 (unused) included. */
    record Entry(int index, int status, int type, long firstSector, long sectors) {
        boolean used() {
            return type != 0;
        }

        boolean extended() {
            return type == 0x05 || type == 0x0f || type == 0x85;
        }
    }

    private final List<Entry> entries;

    private Mbr(List<Entry> entries) {
        this.entries = entries;
    }

    /** The MBR of a disk whose first sector is {@code sector}; empty without the 0x55AA signature. */
    static Optional<Mbr> parse(byte[] sector) {
        if (sector.length < SECTOR || (sector[510] & 0xff) != 0x55 || (sector[511] & 0xff) != 0xaa) {
            return Optional.empty();
        }
        ByteBuffer b = ByteBuffer.wrap(sector).order(ByteOrder.LITTLE_ENDIAN);
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int at = ENTRIES_AT + i * ENTRY_SIZE;
            entries.add(new Entry(i + 1, b.get(at) & 0xff, b.get(at + 4) & 0xff, b.getInt(at + 8) & 0xffffffffL,
                    b.getInt(at + 12) & 0xffffffffL));
        }
        return Optional.of(new Mbr(entries));
    }

    /** Whether an entry is GPT's protective one: the disk's real table is the GPT. */
    boolean protective() {
        return entries.stream().anyMatch(e -> e.type() == PROTECTIVE);
    }

    boolean empty() {
        return entries.stream().noneMatch(Entry::used);
    }

    /**
     * The primary partitions of a disk of {@code diskSize} bytes.
     *
     * @throws NotBootableException an entry is malformed, outside the disk, or overlaps another
     */
    List<Partition> partitions(long diskSize) {
        long diskSectors = diskSize / SECTOR;
        List<Partition> out = new ArrayList<>();
        List<Entry> used = entries.stream().filter(Entry::used).toList();
        for (Entry e : used) {
            String where = "MBR partition " + e.index();
            if (e.status() != 0 && e.status() != 0x80) {
                throw new NotBootableException(where + " has status 0x" + Integer.toHexString(e.status())
                        + " (0x00 or 0x80 only): the partition table is corrupt");
            }
            if (e.firstSector() == 0 || e.sectors() == 0) {
                throw new NotBootableException(where + " starts at sector " + e.firstSector() + " with "
                        + e.sectors() + " sectors: the partition table is corrupt");
            }
            if (e.firstSector() + e.sectors() > diskSectors) {
                throw new NotBootableException(where + " ends at sector " + (e.firstSector() + e.sectors())
                        + ", past the disk's end (" + diskSectors + " sectors)");
            }
            for (Entry other : used) {
                if (other.index() < e.index() && !other.extended() && !e.extended()
                        && e.firstSector() < other.firstSector() + other.sectors()
                        && other.firstSector() < e.firstSector() + e.sectors()) {
                    throw new NotBootableException(where + " overlaps MBR partition " + other.index());
                }
            }
            out.add(new Partition(e.index(), e.firstSector() * SECTOR, e.sectors() * SECTOR, typeName(e),
                    e.extended() ? Optional.of("an extended partition: logical partitions are not read")
                            : e.type() == 0xef ? Optional.of("the EFI system partition: firmware's, not the OS's")
                            : Optional.empty()));
        }
        return out;
    }

    private static String typeName(Entry e) {
        String name = TYPES.get(e.type());
        return (name == null ? "" : name + " ") + String.format("(type 0x%02x)", e.type());
    }
}
