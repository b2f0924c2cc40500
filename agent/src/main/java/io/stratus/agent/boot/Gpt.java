package io.stratus.agent.boot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * The GUID partition table (UEFI 2.x, chapter 5.3) of a disk with 512-byte sectors: the primary
 * header at LBA 1 and its entry array, each checked against its CRC32, with every field that
 * bounds a read or a partition checked against the disk. The backup header is not consulted: a
 * disk whose primary table is damaged is refused, not repaired.
 */
final class Gpt {
    static final String EFI_SYSTEM = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
    static final String BIOS_BOOT = "21686148-6449-6e6f-744e-656564454649";
    /** More entries than any partitioning tool writes by default (128), fewer than a hostile header may claim. */
    static final int MAX_ENTRIES = 1024;
    static final int MAX_USED = 128;
    private static final int SECTOR = Mbr.SECTOR;
    private static final long SIGNATURE = 0x5452415020494645L; // "EFI PART", little-endian
    private static final int MIN_HEADER = 92;
    private static final Map<String, String> TYPES = Map.of(
            EFI_SYSTEM, "EFI system",
            BIOS_BOOT, "BIOS boot",
            "0fc63daf-8483-4772-8e79-3d69d8477de4", "Linux filesystem",
            "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "Linux root (x86-64)",
            "bc13c2ff-59e6-4262-a352-b275fd6f7172", "Linux extended boot",
            "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "Linux swap",
            "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "Microsoft basic data");

    private Gpt() {
    }

    /**
     * The used partitions of {@code disk}'s GPT, in entry order (numbered from 1 as the entries are).
     *
     * @throws NotBootableException the header or the entry array is malformed, fails its CRC, or
     *     points outside the disk, or partitions overlap or lie outside the usable area
     */
    static List<Partition> read(DiskReader disk) throws IOException {
        long sectors = disk.size() / SECTOR;
        if (sectors < 3) {
            throw new NotBootableException("the disk is too small for the GPT its MBR announces");
        }
        byte[] raw = new byte[SECTOR];
        disk.read(SECTOR, raw, SECTOR);
        ByteBuffer h = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        if (h.getLong(0) != SIGNATURE) {
            throw new NotBootableException("the protective MBR announces a GPT, but LBA 1 has no GPT header");
        }
        int revision = h.getInt(8);
        if (revision >>> 16 != 1) {
            throw new NotBootableException("GPT header revision " + (revision >>> 16) + "." + (revision & 0xffff)
                    + " is not 1.x");
        }
        int headerSize = h.getInt(12);
        if (headerSize < MIN_HEADER || headerSize > SECTOR) {
            throw new NotBootableException("GPT header size " + Integer.toUnsignedString(headerSize)
                    + " is outside 92 to 512 bytes");
        }
        long storedCrc = h.getInt(16) & 0xffffffffL;
        byte[] zeroedCrc = raw.clone();
        ByteBuffer.wrap(zeroedCrc).order(ByteOrder.LITTLE_ENDIAN).putInt(16, 0);
        if (crc32(zeroedCrc, 0, headerSize) != storedCrc) {
            throw new NotBootableException("GPT header CRC mismatch: the partition table is corrupt");
        }
        long myLba = h.getLong(24);
        long firstUsable = h.getLong(40);
        long lastUsable = h.getLong(48);
        long entriesLba = h.getLong(72);
        long count = h.getInt(80) & 0xffffffffL;
        long entrySize = h.getInt(84) & 0xffffffffL;
        long entriesCrc = h.getInt(88) & 0xffffffffL;
        if (myLba != 1) {
            throw new NotBootableException("GPT header at LBA 1 says it is at LBA " + Long.toUnsignedString(myLba));
        }
        if (Long.compareUnsigned(firstUsable, lastUsable) > 0 || Long.compareUnsigned(lastUsable, sectors) >= 0
                || Long.compareUnsigned(firstUsable, 2) < 0) {
            throw new NotBootableException("GPT usable area [" + Long.toUnsignedString(firstUsable) + ", "
                    + Long.toUnsignedString(lastUsable) + "] is not on the disk (" + sectors + " sectors)");
        }
        if (count == 0 || count > MAX_ENTRIES) {
            throw new NotBootableException("GPT header claims " + count + " partition entries (1 to " + MAX_ENTRIES
                    + " are read)");
        }
        if (entrySize < 128 || entrySize > 1024 || Long.bitCount(entrySize) != 1) {
            throw new NotBootableException("GPT partition entry size " + entrySize
                    + " is not 128, 256, 512 or 1024 bytes");
        }
        long arrayBytes = count * entrySize;
        long arraySectors = (arrayBytes + SECTOR - 1) / SECTOR;
        if (Long.compareUnsigned(entriesLba, 2) < 0 || Long.compareUnsigned(entriesLba, sectors) >= 0
                || entriesLba + arraySectors > sectors) {
            throw new NotBootableException("GPT partition entries at LBA " + Long.toUnsignedString(entriesLba)
                    + " (" + arraySectors + " sectors) are not on the disk");
        }
        if (entriesLba + arraySectors > firstUsable && entriesLba <= lastUsable) {
            throw new NotBootableException("GPT partition entries at LBA " + entriesLba
                    + " lie inside the usable area");
        }
        byte[] array = new byte[(int) arrayBytes];
        disk.read(entriesLba * SECTOR, array, array.length);
        if (crc32(array, 0, array.length) != entriesCrc) {
            throw new NotBootableException("GPT partition entry array CRC mismatch: the partition table is corrupt");
        }
        return entries(ByteBuffer.wrap(array).order(ByteOrder.LITTLE_ENDIAN), (int) count, (int) entrySize,
                firstUsable, lastUsable);
    }

    private static List<Partition> entries(ByteBuffer a, int count, int entrySize, long firstUsable, long lastUsable) {
        List<Partition> out = new ArrayList<>();
        List<long[]> extents = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int at = i * entrySize;
            String type = guid(a, at);
            if (type.equals("00000000-0000-0000-0000-000000000000")) {
                continue;
            }
            int number = i + 1;
            if (out.size() == MAX_USED) {
                throw new NotBootableException("the GPT has more than " + MAX_USED + " partitions");
            }
            long first = a.getLong(at + 32);
            long last = a.getLong(at + 40);
            if (Long.compareUnsigned(first, last) > 0 || Long.compareUnsigned(first, firstUsable) < 0
                    || Long.compareUnsigned(last, lastUsable) > 0) {
                throw new NotBootableException("GPT partition " + number + " [" + Long.toUnsignedString(first) + ", "
                        + Long.toUnsignedString(last) + "] is outside the usable area [" + firstUsable + ", "
                        + lastUsable + "]");
            }
            for (long[] e : extents) {
                if (first <= e[2] && e[1] <= last) {
                    throw new NotBootableException("GPT partition " + number + " overlaps partition " + e[0]);
                }
            }
            extents.add(new long[] {number, first, last});
            String known = TYPES.get(type);
            String name = name(a, at + 56, Math.min(72, entrySize - 56));
            String described = (known == null ? "type " + type : known) + (name.isEmpty() ? "" : " \"" + name + "\"");
            Optional<String> notSearched = type.equals(EFI_SYSTEM)
                    ? Optional.of("the EFI system partition: firmware's, not the OS's")
                    : type.equals(BIOS_BOOT) ? Optional.of("the BIOS boot partition: GRUB's core image, no filesystem")
                    : Optional.empty();
            out.add(new Partition(number, first * SECTOR, (last - first + 1) * SECTOR, described, notSearched));
        }
        return out;
    }

    /** A GUID as its text form: the first three fields are little-endian on disk. */
    static String guid(ByteBuffer b, int at) {
        long d1 = b.getInt(at) & 0xffffffffL;
        int d2 = b.getShort(at + 4) & 0xffff;
        int d3 = b.getShort(at + 6) & 0xffff;
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%08x-%04x-%04x-", d1, d2, d3));
        for (int i = 8; i < 16; i++) {
            s.append(String.format(Locale.ROOT, "%02x", b.get(at + i) & 0xff));
            if (i == 9) {
                s.append('-');
            }
        }
        return s.toString();
    }

    /** The partition's name (UTF-16LE, NUL-padded), printable characters only. */
    private static String name(ByteBuffer a, int at, int length) {
        byte[] bytes = new byte[Math.max(0, length)];
        a.get(at, bytes);
        String s = new String(bytes, StandardCharsets.UTF_16LE);
        int nul = s.indexOf('\0');
        s = nul < 0 ? s : s.substring(0, nul);
        return s.codePoints().allMatch(c -> c >= 0x20 && c != 0x7f && c != '"') ? s : "";
    }

    private static long crc32(byte[] data, int offset, int length) {
        CRC32 crc = new CRC32();
        crc.update(data, offset, length);
        return crc.getValue();
    }
}
