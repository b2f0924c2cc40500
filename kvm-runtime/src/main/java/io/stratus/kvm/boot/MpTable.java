package io.stratus.kvm.boot;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * An Intel MultiProcessor Specification 1.4 table: how a kernel without ACPI (or booted with
 * {@code acpi=off}) finds the vCPUs, the IOAPIC and the ISA interrupt wiring. The floating
 * pointer sits at 0xF0000, where Linux scans for it.
 */
public final class MpTable {
    /** IOAPIC pins wired identically to ISA IRQs / GSIs (KVM's default routing). */
    public static final int IOAPIC_PINS = 24;
    static final int APIC_VERSION = 0x14;
    static final int IOAPIC_VERSION = 0x11;

    private static final int FLOATING_SIZE = 16;
    private static final int HEADER_SIZE = 44;
    private static final int PROCESSOR_SIZE = 20;
    private static final int SMALL_ENTRY_SIZE = 8;

    private MpTable() {
    }

    /** Bytes of floating pointer plus configuration table for {@code cpus} processors. */
    public static int size(int cpus) {
        return FLOATING_SIZE + HEADER_SIZE + cpus * PROCESSOR_SIZE
                + (1 + 1 + IOAPIC_PINS + 2) * SMALL_ENTRY_SIZE;
    }

    /** The IOAPIC's id: the one after the last vCPU's APIC id. */
    public static int ioapicId(int cpus) {
        return cpus;
    }

    /** Builds the floating pointer and table as they are placed at {@code base}. */
    public static byte[] build(int cpus, long base) {
        if (cpus < 1 || cpus > 254) {
            throw new IllegalArgumentException("MP table describes 1 to 254 CPUs, not " + cpus);
        }
        ByteBuffer b = ByteBuffer.allocate(size(cpus)).order(ByteOrder.LITTLE_ENDIAN);
        long tableAddress = base + FLOATING_SIZE;

        b.put("_MP_".getBytes(StandardCharsets.US_ASCII));
        b.putInt((int) tableAddress);
        b.put((byte) 1); // length in 16-byte units
        b.put((byte) 4); // specification revision 1.4
        b.put((byte) 0); // checksum, below
        b.put(new byte[5]); // feature bytes: a configuration table is present, no IMCR
        b.put(10, checksum(b.array(), 0, FLOATING_SIZE));

        int t = FLOATING_SIZE;
        int entries = cpus + 1 + 1 + IOAPIC_PINS + 2;
        int length = size(cpus) - FLOATING_SIZE;
        b.position(t);
        b.put("PCMP".getBytes(StandardCharsets.US_ASCII));
        b.putShort((short) length);
        b.put((byte) 4);
        b.put((byte) 0); // checksum, below
        b.put(ascii("STRATUS", 8));
        b.put(ascii("KVM-RUNTIME", 12));
        b.putInt(0); // no OEM table
        b.putShort((short) 0);
        b.putShort((short) entries);
        b.putInt((int) BootLayout.LAPIC_ADDRESS);
        b.putShort((short) 0); // no extended table
        b.put((byte) 0);
        b.put((byte) 0);

        for (int cpu = 0; cpu < cpus; cpu++) {
            b.put((byte) 0); // processor entry
            b.put((byte) cpu); // local APIC id
            b.put((byte) APIC_VERSION);
            b.put((byte) (cpu == 0 ? 0x3 : 0x1)); // enabled, and BSP for vCPU 0
            b.putInt(0x600); // family 6
            b.putInt(0x201); // FPU, APIC
            b.putLong(0);
        }
        b.put((byte) 1); // bus entry
        b.put((byte) 0);
        b.put("ISA   ".getBytes(StandardCharsets.US_ASCII));

        int ioapic = ioapicId(cpus);
        b.put((byte) 2); // IOAPIC entry
        b.put((byte) ioapic);
        b.put((byte) IOAPIC_VERSION);
        b.put((byte) 1); // enabled
        b.putInt((int) BootLayout.IOAPIC_ADDRESS);

        for (int pin = 0; pin < IOAPIC_PINS; pin++) {
            b.put((byte) 3); // I/O interrupt assignment
            b.put((byte) 0); // INT
            b.putShort((short) 0); // conforms to bus: edge, active high for ISA
            b.put((byte) 0); // source bus: ISA
            b.put((byte) pin);
            b.put((byte) ioapic);
            b.put((byte) pin);
        }
        // LINT0 carries the 8259 PIC (virtual wire), LINT1 the NMI, on every local APIC.
        b.put(new byte[] {4, 3, 0, 0, 0, 0, (byte) 0xff, 0});
        b.put(new byte[] {4, 1, 0, 0, 0, 0, (byte) 0xff, 1});

        b.put(t + 7, checksum(b.array(), t, length));
        return b.array();
    }

    /** Writes the table at {@link BootLayout#MP_TABLE}. */
    public static void write(GuestMemory memory, int cpus) {
        byte[] table = build(cpus, BootLayout.MP_TABLE);
        if (BootLayout.MP_TABLE + table.length > BootLayout.MP_TABLE_END) {
            throw new IllegalArgumentException("MP table for " + cpus + " CPUs does not fit below 1 MiB");
        }
        memory.write(GuestAddress.of(BootLayout.MP_TABLE), table);
    }

    static byte checksum(byte[] data, int offset, int length) {
        int sum = 0;
        for (int i = offset; i < offset + length; i++) {
            sum += data[i];
        }
        return (byte) -sum;
    }

    private static byte[] ascii(String s, int width) {
        byte[] out = new byte[width];
        byte[] text = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(text, 0, out, 0, Math.min(width, text.length));
        for (int i = text.length; i < width; i++) {
            out[i] = ' ';
        }
        return out;
    }
}
