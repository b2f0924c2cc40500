package io.stratus.kvm.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;

/**
 * The qcow2 header fields and header extensions this VMM uses (qcow2 versions 2 and 3), checked as
 * they are read: anything out of range, pointing outside the file or naming a feature that is not
 * supported is a {@link DiskImageException}, so that what is left can be trusted for sizes and
 * offsets.
 *
 * @param size virtual disk size in bytes
 * @param l1Size entries of the active L1 table as the header gives them
 * @param backingFile the backing file name as stored, or null
 * @param backingFormat the backing file format extension, or null when absent
 */
record Qcow2Header(int version, int clusterBits, long size, long l1Size, long l1TableOffset,
                   long refcountTableOffset, long refcountTableClusters, long snapshotCount,
                   long incompatibleFeatures, long autoclearFeatures, int refcountOrder, int headerLength,
                   String backingFile, String backingFormat) {
    static final int MAGIC = 0x514649fb;
    static final int V2_LENGTH = 72;
    static final int V3_LENGTH = 104;
    /** The length of the headers this VMM writes: version 3 with the compression type byte, padded. */
    static final int WRITTEN_LENGTH = 112;
    static final int MIN_CLUSTER_BITS = 9;
    static final int MAX_CLUSTER_BITS = 21;
    static final int MAX_BACKING_NAME = 1023;
    /** The largest disk this VMM attaches (and a bound on every table size computed from it). */
    static final long MAX_VIRTUAL_SIZE = 64L << 40;
    /** qemu's limits on the table sizes; larger tables are refused before anything is allocated. */
    static final long MAX_L1_BYTES = 32L << 20;
    static final long MAX_REFCOUNT_TABLE_BYTES = 8L << 20;

    static final long INCOMPATIBLE_DIRTY = 1;
    static final long INCOMPATIBLE_CORRUPT = 1 << 1;
    static final long INCOMPATIBLE_DATA_FILE = 1 << 2;
    static final long INCOMPATIBLE_COMPRESSION_TYPE = 1 << 3;
    static final long INCOMPATIBLE_EXTENDED_L2 = 1 << 4;

    static final int EXTENSION_END = 0;
    static final int EXTENSION_BACKING_FORMAT = 0xe2792aca;
    static final int EXTENSION_CRYPTO = 0x0537be77;
    static final int EXTENSION_DATA_FILE = 0x44415441;

    /** Where refcount_table_offset (8 bytes) and refcount_table_clusters (4 bytes) are. */
    private static final int REFCOUNT_TABLE_FIELDS = 48;
    private static final int AUTOCLEAR_FEATURES_FIELD = 88;

    int clusterSize() {
        return 1 << clusterBits;
    }

    /** L1 entries the virtual size needs (each maps one L2 table's worth of clusters). */
    long l1Needed() {
        int l2Bits = clusterBits - 3;
        long perEntry = 1L << (clusterBits + l2Bits);
        return (size + perEntry - 1) / perEntry;
    }

    /**
     * Reads and checks the header of {@code file}: its first cluster (as the header gives the
     * cluster size), or the whole file if it is shorter.
     */
    static Qcow2Header read(LockedFile file, long fileSize, String where) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(V3_LENGTH);
        head.limit(file.readAt(head, 0));
        int bits = head.limit() >= 24 ? head.getInt(20) : 0;
        int firstLength = bits >= MIN_CLUSTER_BITS && bits <= MAX_CLUSTER_BITS
                ? (int) Math.min(1L << bits, fileSize) : head.limit();
        ByteBuffer first = ByteBuffer.allocate(firstLength);
        first.limit(file.readAt(first, 0));
        return parse(first, fileSize, where);
    }

    /**
     * Refuses to write an image whose metadata this VMM cannot keep up to date: refcounts of
     * another width than 16 bits, and internal snapshots (clusters they share have refcounts above
     * 1, which a write would have to copy first). Both can still be read.
     */
    void checkWritable(String where) {
        if (refcountOrder != Qcow2Refcounts.ORDER) {
            throw fail(where, "has " + (1 << refcountOrder)
                    + "-bit refcounts; only 16-bit refcounts can be written (attach it with ,ro)");
        }
        if (snapshotCount != 0) {
            throw fail(where, "has internal snapshots; writing such images is not"
                    + " supported (attach it with ,ro, or delete them with qemu-img snapshot -d)");
        }
    }

    /**
     * Clears the autoclear feature bits in the header of {@code file}: they name features (bitmaps)
     * that this VMM does not keep up to date, and must go before its first write.
     */
    static void clearAutoclearFeatures(LockedFile file) throws IOException {
        file.writeAt(ByteBuffer.allocate(8), AUTOCLEAR_FEATURES_FIELD);
        file.host.sync();
    }

    /** Points the header of {@code file} at a moved refcount table of {@code clusters} clusters. */
    static void writeRefcountTableLocation(LockedFile file, long offset, int clusters) throws IOException {
        ByteBuffer fields = ByteBuffer.allocate(12).putLong(0, offset).putInt(8, clusters);
        file.writeAt(fields, REFCOUNT_TABLE_FIELDS);
    }

    /**
     * Parses and checks the header at the start of {@code first} (the image's first cluster, or
     * the whole file if it is shorter).
     *
     * @param where the image, as messages name it ("disk image /path")
     */
    static Qcow2Header parse(ByteBuffer first, long fileSize, String where) {
        int available = first.limit();
        if (available < V2_LENGTH) {
            throw fail(where, "has a truncated qcow2 header (" + available + " bytes)");
        }
        int version = first.getInt(4);
        if (version != 2 && version != 3) {
            throw fail(where, "is qcow2 version " + Integer.toUnsignedString(version)
                    + "; versions 2 and 3 are supported");
        }
        int clusterBits = first.getInt(20);
        if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
            throw fail(where, "has cluster_bits " + Integer.toUnsignedString(clusterBits)
                    + "; clusters of 512 B to 2 MiB (cluster_bits 9 to 21) are supported");
        }
        long clusterSize = 1L << clusterBits;
        long backingOffset = first.getLong(8);
        long backingSize = first.getInt(16) & 0xffffffffL;
        long size = first.getLong(24);
        int cryptMethod = first.getInt(32);
        long l1Size = first.getInt(36) & 0xffffffffL;
        long l1Offset = first.getLong(40);
        long refcountTableOffset = first.getLong(48);
        long refcountTableClusters = first.getInt(56) & 0xffffffffL;
        long snapshotCount = first.getInt(60) & 0xffffffffL;

        long incompatible = 0;
        long autoclear = 0;
        int refcountOrder = 4;
        int headerLength = V2_LENGTH;
        if (version == 3) {
            if (available < V3_LENGTH) {
                throw fail(where, "has a truncated qcow2 version 3 header (" + available + " bytes)");
            }
            incompatible = first.getLong(72);
            autoclear = first.getLong(88);
            refcountOrder = first.getInt(96);
            headerLength = first.getInt(100);
            if (headerLength < V3_LENGTH || headerLength % 8 != 0 || headerLength > available) {
                throw fail(where, "has an invalid qcow2 header length " + Integer.toUnsignedString(headerLength));
            }
            if (headerLength > V3_LENGTH && first.get(104) != 0) {
                throw fail(where, "uses compression type " + (first.get(104) & 0xff)
                        + "; compressed qcow2 images are not supported (qemu-img convert -O qcow2 without -c)");
            }
        }
        if ((incompatible & INCOMPATIBLE_CORRUPT) != 0) {
            throw fail(where, "is marked corrupt (repair it with qemu-img check -r all)");
        }
        if ((incompatible & INCOMPATIBLE_DATA_FILE) != 0) {
            throw fail(where, "keeps its data in an external data file, which is not supported");
        }
        if ((incompatible & INCOMPATIBLE_COMPRESSION_TYPE) != 0) {
            throw fail(where, "uses a non-zlib compression type; compressed qcow2 images are not supported");
        }
        if ((incompatible & INCOMPATIBLE_EXTENDED_L2) != 0) {
            throw fail(where, "uses extended L2 entries (subclusters), which are not supported");
        }
        long unknown = incompatible & ~INCOMPATIBLE_DIRTY;
        if (unknown != 0) {
            throw fail(where, "has unknown incompatible qcow2 features 0x" + Long.toHexString(unknown));
        }
        if (cryptMethod != 0) {
            throw fail(where, "is encrypted (crypt_method " + Integer.toUnsignedString(cryptMethod)
                    + "); encrypted qcow2 images are not supported");
        }
        if (refcountOrder < 0 || refcountOrder > 6) {
            throw fail(where, "has an invalid refcount_order " + refcountOrder);
        }
        if (size < 0 || size > MAX_VIRTUAL_SIZE) {
            throw fail(where, "has a virtual size of " + Long.toUnsignedString(size)
                    + " bytes; at most 64 TiB is supported");
        }
        if (size < DiskImage.SECTOR_SIZE) {
            throw fail(where, "has a virtual size smaller than one 512-byte sector");
        }
        Qcow2Header partial = new Qcow2Header(version, clusterBits, size, l1Size, l1Offset, refcountTableOffset,
                refcountTableClusters, snapshotCount, incompatible, autoclear, refcountOrder, headerLength, null, null);
        long needed = partial.l1Needed();
        if (l1Size < needed) {
            throw fail(where, "has an L1 table of " + l1Size + " entries, too small for its virtual size ("
                    + needed + " needed)");
        }
        if (l1Size * 8 > MAX_L1_BYTES) {
            throw fail(where, "has an L1 table of " + l1Size + " entries (more than 32 MiB)");
        }
        checkTable(where, "L1 table", l1Offset, l1Size * 8, clusterSize, fileSize);
        if (refcountTableClusters == 0 || refcountTableClusters * clusterSize > MAX_REFCOUNT_TABLE_BYTES) {
            throw fail(where, "has a refcount table of " + refcountTableClusters
                    + " clusters (1 to 8 MiB are supported)");
        }
        checkTable(where, "refcount table", refcountTableOffset, refcountTableClusters * clusterSize, clusterSize,
                fileSize);

        String backingFile = null;
        if (backingOffset != 0) {
            if (backingSize == 0 || backingSize > MAX_BACKING_NAME) {
                throw fail(where, "has a backing file name of " + backingSize + " bytes (1 to 1023 are allowed)");
            }
            if (backingOffset < 0 || backingOffset > available - backingSize) {
                throw fail(where, "has its backing file name outside the first cluster");
            }
            backingFile = utf8(first, (int) backingOffset, (int) backingSize, where, "backing file name");
        }

        // Header extensions: from the end of the header to the backing file name (or the cluster's end).
        String backingFormat = null;
        int end = backingFile != null && backingOffset >= headerLength ? (int) backingOffset : available;
        int at = headerLength;
        while (at <= end - 8) {
            int type = first.getInt(at);
            long length = first.getInt(at + 4) & 0xffffffffL;
            if (type == EXTENSION_END) {
                break;
            }
            if (length > end - at - 8) {
                throw fail(where, "has a header extension 0x" + Integer.toHexString(type)
                        + " that runs past the header area");
            }
            switch (type) {
                case EXTENSION_BACKING_FORMAT -> backingFormat = utf8(first, at + 8, (int) length, where,
                        "backing format name");
                case EXTENSION_DATA_FILE -> throw fail(where,
                        "names an external data file, which is not supported");
                case EXTENSION_CRYPTO -> throw fail(where,
                        "has an encryption header; encrypted qcow2 images are not supported");
                default -> {
                    // Feature names, bitmaps and unknown extensions: nothing this VMM acts on.
                }
            }
            at += 8 + (int) ((length + 7) & ~7L);
        }
        return new Qcow2Header(version, clusterBits, size, l1Size, l1Offset, refcountTableOffset,
                refcountTableClusters, snapshotCount, incompatible, autoclear, refcountOrder, headerLength,
                backingFile, backingFormat);
    }

    private static void checkTable(String where, String what, long offset, long bytes, long clusterSize, long fileSize) {
        if (bytes == 0) {
            return;
        }
        if (offset <= 0 || offset % clusterSize != 0) {
            throw fail(where, "has its " + what + " at offset " + Long.toUnsignedString(offset)
                    + ", which is not a cluster boundary after the header");
        }
        if (offset > fileSize || bytes > fileSize - offset) {
            throw fail(where, "has its " + what + " (" + bytes + " bytes at " + offset
                    + ") beyond the end of the file (" + fileSize + " bytes)");
        }
    }

    private static String utf8(ByteBuffer b, int offset, int length, String where, String what) {
        ByteBuffer slice = b.duplicate().position(offset).limit(offset + length);
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(slice).toString();
        } catch (CharacterCodingException e) {
            throw fail(where, "has a " + what + " that is not UTF-8");
        }
    }

    private static DiskImageException fail(String where, String what) {
        return new DiskImageException(where + " " + what);
    }

    /**
     * The first cluster of a fresh version 3 image: this header, a backing format extension when
     * there is a backing file, and the backing file name after the extensions.
     */
    static ByteBuffer write(int clusterBits, long size, long l1Size, long l1Offset, long refcountTableOffset,
                            long refcountTableClusters, String backingFile, String backingFormat) {
        ByteBuffer b = ByteBuffer.allocate(1 << clusterBits);
        b.putInt(0, MAGIC);
        b.putInt(4, 3);
        b.putInt(20, clusterBits);
        b.putLong(24, size);
        b.putInt(36, (int) l1Size);
        b.putLong(40, l1Offset);
        b.putLong(48, refcountTableOffset);
        b.putInt(56, (int) refcountTableClusters);
        b.putInt(96, Qcow2Refcounts.ORDER);
        b.putInt(100, WRITTEN_LENGTH);
        int at = WRITTEN_LENGTH;
        if (backingFile != null) {
            byte[] format = backingFormat.getBytes(StandardCharsets.UTF_8);
            b.putInt(at, EXTENSION_BACKING_FORMAT);
            b.putInt(at + 4, format.length);
            b.put(at + 8, format);
            at += 8 + ((format.length + 7) & ~7);
        }
        b.putInt(at, EXTENSION_END);
        b.putInt(at + 4, 0);
        at += 8;
        if (backingFile != null) {
            byte[] name = backingFile.getBytes(StandardCharsets.UTF_8);
            b.putLong(8, at);
            b.putInt(16, name.length);
            b.put(at, name);
        }
        return b;
    }
}
