package io.stratus.kvm.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A small encoder for the ACPI Machine Language the VMM puts in its DSDT (ACPI 6.5, chapter 20),
 * and for the resource descriptors of {@code _CRS} (chapter 6.4). Each method returns the bytes
 * of one term; terms nest by passing those bytes to the enclosing term.
 */
public final class Aml {
    static final int ZERO_OP = 0x00;
    static final int ONE_OP = 0x01;
    static final int NAME_OP = 0x08;
    static final int BYTE_PREFIX = 0x0a;
    static final int WORD_PREFIX = 0x0b;
    static final int DWORD_PREFIX = 0x0c;
    static final int STRING_PREFIX = 0x0d;
    static final int QWORD_PREFIX = 0x0e;
    static final int SCOPE_OP = 0x10;
    static final int BUFFER_OP = 0x11;
    static final int PACKAGE_OP = 0x12;
    static final int METHOD_OP = 0x14;
    static final int DUAL_NAME_PREFIX = 0x2e;
    static final int MULTI_NAME_PREFIX = 0x2f;
    static final int EXT_OP_PREFIX = 0x5b;
    static final int DEVICE_OP = 0x82;
    static final int ROOT_CHAR = 0x5c;
    static final int PARENT_PREFIX = 0x5e;
    static final int RETURN_OP = 0xa4;

    private Aml() {
    }

    /** {@code Name(path, value)}. */
    public static byte[] name(String path, byte[] value) {
        return concat(new byte[] {NAME_OP}, nameString(path), value);
    }

    /** {@code Scope(path) { terms }}. */
    public static byte[] scope(String path, byte[]... terms) {
        return concat(new byte[] {SCOPE_OP}, withPkgLength(concat(nameString(path), concat(terms))));
    }

    /** {@code Device(path) { terms }}. */
    public static byte[] device(String path, byte[]... terms) {
        return concat(new byte[] {EXT_OP_PREFIX, (byte) DEVICE_OP}, withPkgLength(concat(nameString(path), concat(terms))));
    }

    /** {@code Method(path, argCount, Serialized|NotSerialized) { terms }}. */
    public static byte[] method(String path, int argCount, boolean serialized, byte[]... terms) {
        if (argCount < 0 || argCount > 7) {
            throw new IllegalArgumentException("a method takes 0 to 7 arguments");
        }
        byte flags = (byte) (argCount | (serialized ? 1 << 3 : 0));
        return concat(new byte[] {METHOD_OP}, withPkgLength(concat(nameString(path), new byte[] {flags}, concat(terms))));
    }

    /** {@code Return(value)}. */
    public static byte[] returnValue(byte[] value) {
        return concat(new byte[] {(byte) RETURN_OP}, value);
    }

    /** The shortest integer encoding of an unsigned value: ZeroOp, OneOp, or a Byte/Word/DWord/QWord constant. */
    public static byte[] integer(long value) {
        if (value == 0) {
            return new byte[] {ZERO_OP};
        }
        if (value == 1) {
            return new byte[] {ONE_OP};
        }
        if (value > 0 && value <= 0xff) {
            return new byte[] {BYTE_PREFIX, (byte) value};
        }
        if (value > 0 && value <= 0xffff) {
            return new byte[] {WORD_PREFIX, (byte) value, (byte) (value >> 8)};
        }
        if (value > 0 && value <= 0xffffffffL) {
            return concat(new byte[] {DWORD_PREFIX}, le(value, 4));
        }
        return concat(new byte[] {QWORD_PREFIX}, le(value, 8));
    }

    /** A String constant (ASCII, NUL-terminated). */
    public static byte[] string(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < 1 || s.charAt(i) > 0x7f) {
                throw new IllegalArgumentException("AML strings are 7-bit ASCII without NUL");
            }
        }
        return concat(new byte[] {STRING_PREFIX}, s.getBytes(StandardCharsets.US_ASCII), new byte[] {0});
    }

    /** {@code EISAID("PNP0501")}: the compressed 32-bit form of a PNP id. */
    public static byte[] eisaId(String id) {
        if (!id.matches("[A-Z]{3}[0-9A-F]{4}")) {
            throw new IllegalArgumentException("EISA id must be three letters and four hex digits: " + id);
        }
        int vendor = ((id.charAt(0) - 0x40) << 10) | ((id.charAt(1) - 0x40) << 5) | (id.charAt(2) - 0x40);
        int product = Integer.parseInt(id.substring(3), 16);
        return integer(Integer.reverseBytes((vendor << 16) | product) & 0xffffffffL);
    }

    /** {@code Package() { elements }}. */
    public static byte[] packageOf(byte[]... elements) {
        if (elements.length > 255) {
            throw new IllegalArgumentException("a Package holds at most 255 elements");
        }
        return concat(new byte[] {PACKAGE_OP}, withPkgLength(concat(new byte[] {(byte) elements.length}, concat(elements))));
    }

    /** {@code Buffer() { bytes }}. */
    public static byte[] buffer(byte[] bytes) {
        return concat(new byte[] {BUFFER_OP}, withPkgLength(concat(integer(bytes.length), bytes)));
    }

    /** {@code ResourceTemplate() { descriptors }}: a buffer ending with an End Tag. */
    public static byte[] resourceTemplate(byte[]... descriptors) {
        return buffer(concat(concat(descriptors), new byte[] {0x79, 0x00}));
    }

    /** {@code IO(Decode16, min, max, alignment, length)}. */
    public static byte[] io(int min, int max, int alignment, int length) {
        return new byte[] {0x47, 0x01, (byte) min, (byte) (min >> 8), (byte) max, (byte) (max >> 8),
                (byte) alignment, (byte) length};
    }

    /** {@code IRQNoFlags() { irq }}: an edge-triggered, active-high ISA interrupt. */
    public static byte[] irqNoFlags(int irq) {
        if (irq < 0 || irq > 15) {
            throw new IllegalArgumentException("ISA IRQ must be 0 to 15");
        }
        int mask = 1 << irq;
        return new byte[] {0x22, (byte) mask, (byte) (mask >> 8)};
    }

    /** {@code Memory32Fixed(ReadWrite|ReadOnly, base, length)}. */
    public static byte[] memory32Fixed(boolean writable, long base, long length) {
        return concat(new byte[] {(byte) 0x86, 0x09, 0x00, (byte) (writable ? 1 : 0)}, le(base, 4), le(length, 4));
    }

    /** {@code Interrupt(ResourceConsumer, Edge|Level, ActiveHigh|ActiveLow, Exclusive|Shared) { gsis }}. */
    public static byte[] interrupt(boolean edge, boolean activeLow, boolean shared, int... gsis) {
        if (gsis.length == 0 || gsis.length > 255) {
            throw new IllegalArgumentException("an Interrupt descriptor lists 1 to 255 interrupts");
        }
        int flags = 1 | (edge ? 1 << 1 : 0) | (activeLow ? 1 << 2 : 0) | (shared ? 1 << 3 : 0);
        int length = 2 + 4 * gsis.length;
        byte[] head = {(byte) 0x89, (byte) length, (byte) (length >> 8), (byte) flags, (byte) gsis.length};
        byte[] list = new byte[4 * gsis.length];
        for (int i = 0; i < gsis.length; i++) {
            System.arraycopy(le(gsis[i] & 0xffffffffL, 4), 0, list, 4 * i, 4);
        }
        return concat(head, list);
    }

    /** A NameString: optional root or parent prefixes, then 4-character segments joined by '.'. */
    static byte[] nameString(String path) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        if (path.startsWith("\\")) {
            out.write(ROOT_CHAR);
            i = 1;
        } else {
            while (i < path.length() && path.charAt(i) == '^') {
                out.write(PARENT_PREFIX);
                i++;
            }
        }
        String rest = path.substring(i);
        String[] segments = rest.isEmpty() ? new String[0] : rest.split("\\.", -1);
        if (segments.length == 0) {
            out.write(0);
        } else if (segments.length == 2) {
            out.write(DUAL_NAME_PREFIX);
        } else if (segments.length > 2) {
            if (segments.length > 255) {
                throw new IllegalArgumentException("name path too long: " + path);
            }
            out.write(MULTI_NAME_PREFIX);
            out.write(segments.length);
        }
        for (String segment : segments) {
            out.writeBytes(nameSegment(segment, path));
        }
        return out.toByteArray();
    }

    private static byte[] nameSegment(String segment, String path) {
        if (segment.isEmpty() || segment.length() > 4 || !segment.matches("[A-Z_][A-Z0-9_]*")) {
            throw new IllegalArgumentException("bad AML name segment '" + segment + "' in " + path);
        }
        byte[] out = {'_', '_', '_', '_'};
        for (int i = 0; i < segment.length(); i++) {
            out[i] = (byte) segment.charAt(i);
        }
        return out;
    }

    /** Prefixes {@code payload} with its PkgLength, whose count includes the PkgLength bytes. */
    static byte[] withPkgLength(byte[] payload) {
        return concat(pkgLength(payload.length), payload);
    }

    static byte[] pkgLength(int payloadLength) {
        if (payloadLength + 1 < 0x40) {
            return new byte[] {(byte) (payloadLength + 1)};
        }
        for (int extra = 1; extra <= 3; extra++) {
            int total = payloadLength + 1 + extra;
            if (total < 1 << (4 + 8 * extra)) {
                byte[] out = new byte[1 + extra];
                out[0] = (byte) ((extra << 6) | (total & 0x0f));
                for (int b = 1; b <= extra; b++) {
                    out[b] = (byte) (total >> (4 + 8 * (b - 1)));
                }
                return out;
            }
        }
        throw new IllegalArgumentException("AML package of " + payloadLength + " bytes is too long");
    }

    static byte[] le(long value, int bytes) {
        byte[] out = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            out[i] = (byte) (value >>> (8 * i));
        }
        return out;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
