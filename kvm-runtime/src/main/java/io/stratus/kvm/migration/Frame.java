package io.stratus.kvm.migration;

import java.nio.ByteBuffer;

/**
 * One frame of the migration stream: a type byte, a big-endian u32 payload length, the payload.
 * Each type has a largest payload, checked before anything is read or allocated.
 */
record Frame(Type type, ByteBuffer payload) {
    /** Largest PAGES payload: room for 256 raw pages and their headers. */
    static final int MAX_PAGES_PAYLOAD = 256 * (1 + 8 + 4096);
    /** Largest machine state: far above what 254 vCPUs need (about 6 KiB each). */
    static final int MAX_STATE_PAYLOAD = 16 << 20;
    static final int MAX_TEXT_PAYLOAD = 4096;
    /** Largest disk data entry: one tracking block. */
    static final int MAX_DISK_DATA = 64 * 1024;
    /** Header of a DISK_DATA entry: kind u8, disk u8, offset u64, length u32. */
    static final int DISK_DATA_HEADER = 1 + 1 + 8 + 4;
    /** A DISK_ZERO entry: kind u8, disk u8, offset u64, length u64. */
    static final int DISK_ZERO_ENTRY = 1 + 1 + 8 + 8;
    /** Largest DISK payload: room for 16 full data entries. */
    static final int MAX_DISK_PAYLOAD = 16 * (DISK_DATA_HEADER + MAX_DISK_DATA);
    static final int HEADER_SIZE = 5;

    /** Frame types: below 0x80 from the source, from 0x80 on from the target. */
    enum Type {
        /** The stream's magic, version and the guest's memory layout (for a {@link DiskCopy}, its own magic and the disk's size). */
        HELLO(0x01, 4096),
        /** Pages: raw, deflated, or runs of zero pages. */
        PAGES(0x02, MAX_PAGES_PAYLOAD),
        /** Disk content (when the disks are migrated): data blocks or zero runs of the writable disks. */
        DISK(0x06, MAX_DISK_PAYLOAD),
        /** The end of a pre-copy round: u32 round number. The target answers ROUND_ACK once it applied the round. */
        ROUND_END(0x03, 4),
        /** The machine state of the paused source, as {@code SnapshotCodec.encode} writes it; the last frame. */
        STATE(0x04, MAX_STATE_PAYLOAD),
        /** The source gives up; UTF-8 reason. The guest stays on the source. */
        ABORT(0x05, MAX_TEXT_PAYLOAD),
        /** The end of a {@link DiskCopy}: data bytes u64 and zero bytes u64 sent. The target answers DISK_ACK once flushed. */
        DISK_END(0x07, 16),
        /** The target takes the stream (its layout matches). */
        ACCEPT(0x81, 0),
        /** The target restored the state and the guest runs there. */
        RUNNING(0x82, 0),
        /** The target failed; UTF-8 message. */
        ERROR(0x83, MAX_TEXT_PAYLOAD),
        /** The target applied every page up to this ROUND_END: u32 round number. */
        ROUND_ACK(0x84, 4),
        /** The target of a {@link DiskCopy} applied everything up to DISK_END and flushed its disk. */
        DISK_ACK(0x85, 0);

        final int code;
        final int maxPayload;

        Type(int code, int maxPayload) {
            this.code = code;
            this.maxPayload = maxPayload;
        }

        static Type of(int code) {
            for (Type t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            return null;
        }
    }

    /** Page entries inside a PAGES payload. */
    static final int PAGE_RAW = 0;
    static final int PAGE_DEFLATED = 1;
    static final int PAGE_ZERO_RUN = 2;

    /** Entries inside a DISK payload. */
    static final int DISK_DATA = 0;
    static final int DISK_ZERO = 1;
}
