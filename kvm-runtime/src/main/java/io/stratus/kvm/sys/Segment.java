package io.stratus.kvm.sys;

/**
 * A segment register with its hidden descriptor cache ({@code struct kvm_segment}).
 *
 * @param type the descriptor type nibble (for example 0xb: execute/read, accessed)
 * @param s 1 for code/data, 0 for system segments
 * @param db default operand size (1: 32-bit)
 * @param l 64-bit code segment
 * @param g granularity (1: limit in 4 KiB units)
 */
public record Segment(long base, int limit, int selector, int type, int present, int dpl, int db, int s,
                      int l, int g, int avl, int unusable) {

    /**
     * Decodes a GDT entry the way the CPU loads it into the hidden part of a segment register.
     *
     * @param selector the selector that names the entry
     * @param descriptor the 8-byte descriptor
     */
    public static Segment fromGdtEntry(int selector, long descriptor) {
        long base = ((descriptor >>> 16) & 0xFFFFFFL) | (((descriptor >>> 56) & 0xFF) << 24);
        long rawLimit = (descriptor & 0xFFFF) | (((descriptor >>> 48) & 0xF) << 16);
        int g = (int) ((descriptor >>> 55) & 1);
        int limit = (int) (g == 1 ? (rawLimit << 12) | 0xFFF : rawLimit);
        int type = (int) ((descriptor >>> 40) & 0xF);
        int s = (int) ((descriptor >>> 44) & 1);
        int dpl = (int) ((descriptor >>> 45) & 3);
        int present = (int) ((descriptor >>> 47) & 1);
        int avl = (int) ((descriptor >>> 52) & 1);
        int l = (int) ((descriptor >>> 53) & 1);
        int db = (int) ((descriptor >>> 54) & 1);
        return new Segment(base, limit, selector, type, present, dpl, db, s, l, g, avl, present == 1 ? 0 : 1);
    }
}
