package io.stratus.agent.boot;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Where a disk's filesystems are: the partitions of its GPT (announced by a protective MBR) or of
 * its MBR, or the whole disk when it has no partition table (a filesystem written straight onto
 * the disk, or a FAT/NTFS boot sector in place of an MBR).
 *
 * <p>Hand-written rather than a library or a tool: both formats are small, fixed and fully
 * specified, Java has no kept library for them, and sfdisk/blkid would need the image as a block
 * device or a raw file (a qcow2 image is neither). Every field that bounds a read is checked.
 */
final class PartitionTable {
    private PartitionTable() {
    }

    /**
     * The partitions to look for a boot on, in table order.
     *
     * @throws NotBootableException the table is malformed, fails its checks, or lists nothing
     */
    static List<Partition> read(DiskReader disk) throws IOException {
        if (disk.size() < Mbr.SECTOR) {
            throw new NotBootableException("the disk is " + disk.size() + " bytes, less than one sector");
        }
        byte[] first = new byte[Mbr.SECTOR];
        disk.read(0, first, Mbr.SECTOR);
        Optional<Mbr> mbr = Mbr.parse(first);
        if (mbr.isEmpty()) {
            return List.of(wholeDisk(disk));
        }
        if (mbr.get().protective()) {
            return Gpt.read(disk);
        }
        try {
            if (mbr.get().empty()) {
                throw new NotBootableException("the MBR lists no partitions");
            }
            return mbr.get().partitions(disk.size());
        } catch (NotBootableException e) {
            if (bootSector(first)) {
                // FAT, exFAT and NTFS put their boot sector, with the same signature, where an MBR would be.
                return List.of(wholeDisk(disk));
            }
            throw e;
        }
    }

    private static Partition wholeDisk(DiskReader disk) {
        return new Partition(0, 0, disk.size(), "no partition table");
    }

    /**
     * Whether the first sector is a filesystem's boot sector rather than an MBR: an x86 jump
     * first, then a BIOS parameter block with a sector size of 512 to 4096 bytes (an MBR's boot
     * code has neither in those places).
     */
    private static boolean bootSector(byte[] s) {
        boolean jump = (s[0] & 0xff) == 0xeb && (s[2] & 0xff) == 0x90 || (s[0] & 0xff) == 0xe9;
        int bytesPerSector = (s[11] & 0xff) | (s[12] & 0xff) << 8;
        return jump && (bytesPerSector == 512 || bytesPerSector == 1024 || bytesPerSector == 2048
                || bytesPerSector == 4096);
    }
}
