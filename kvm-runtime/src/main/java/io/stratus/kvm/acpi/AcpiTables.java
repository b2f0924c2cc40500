package io.stratus.kvm.acpi;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The ACPI tables the VMM generates: RSDP, XSDT, a hardware-reduced FADT, MADT and DSDT. A
 * hardware-reduced platform (as QEMU's microvm and Cloud Hypervisor present) has no PM1 blocks,
 * SCI or legacy PIC; power-off and reset go through the FADT's sleep control and reset registers.
 */
public final class AcpiTables {
    static final String OEM_ID = "STRTUS";
    static final String OEM_TABLE_ID = "KVMRTIME";
    static final int HEADER_SIZE = 36;
    static final int FADT_SIZE = 276;
    /** {@code _S5_} sleep type: written to SLP_TYP of the sleep control register on power-off. */
    public static final int S5_SLEEP_TYPE = 5;

    private static final int FADT_WBINVD = 1;
    private static final int FADT_PWR_BUTTON = 1 << 4;
    private static final int FADT_SLP_BUTTON = 1 << 5;
    private static final int FADT_RESET_REG_SUP = 1 << 10;
    private static final int FADT_HW_REDUCED_ACPI = 1 << 20;
    private static final int BOOT_ARCH_VGA_NOT_PRESENT = 1 << 2;
    private static final int BOOT_ARCH_MSI_NOT_SUPPORTED = 1 << 3;
    private static final int BOOT_ARCH_CMOS_RTC_NOT_PRESENT = 1 << 5;
    private static final int GAS_SYSTEM_IO = 1;

    private AcpiTables() {
    }

    /** The tables, laid out from {@code base}: RSDP first, each table 16-byte aligned. */
    public record Layout(long base, byte[] image, long rsdp, long xsdt, long fadt, long madt, long dsdt) {
        public Layout {
            image = image.clone();
        }

        @Override
        public byte[] image() {
            return image.clone();
        }
    }

    /** Builds all tables for a placement at {@code base}. */
    public static Layout build(AcpiPlatform platform, long base) {
        byte[] dsdt = dsdt(platform);
        byte[] madt = madt(platform);
        long rsdp = base;
        long xsdt = align(rsdp + 36);
        long fadt = align(xsdt + HEADER_SIZE + 2 * 8);
        long madtAt = align(fadt + FADT_SIZE);
        long dsdtAt = align(madtAt + madt.length);
        long end = dsdtAt + dsdt.length;

        ByteBuffer image = ByteBuffer.allocate((int) (end - base)).order(ByteOrder.LITTLE_ENDIAN);
        image.put((int) (rsdp - base), rsdp(xsdt));
        image.put((int) (xsdt - base), xsdt(fadt, madtAt));
        image.put((int) (fadt - base), fadt(platform, dsdtAt));
        image.put((int) (madtAt - base), madt);
        image.put((int) (dsdtAt - base), dsdt);
        return new Layout(base, image.array(), rsdp, xsdt, fadt, madtAt, dsdtAt);
    }

    /** Builds the tables and writes them to guest memory at {@code base}, within {@code limit}. */
    public static Layout write(GuestMemory memory, AcpiPlatform platform, long base, long limit) {
        Layout layout = build(platform, base);
        if (base + layout.image.length > limit) {
            throw new IllegalArgumentException("ACPI tables (" + layout.image.length + " bytes) do not fit at 0x"
                    + Long.toHexString(base));
        }
        memory.write(GuestAddress.of(base), layout.image);
        return layout;
    }

    static byte[] rsdp(long xsdt) {
        ByteBuffer b = ByteBuffer.allocate(36).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RSD PTR ".getBytes(StandardCharsets.US_ASCII));
        b.put((byte) 0);
        b.put(ascii(OEM_ID, 6));
        b.put((byte) 2); // revision: ACPI 2.0+, XSDT present
        b.putInt(0); // no RSDT
        b.putInt(36);
        b.putLong(xsdt);
        b.put(new byte[4]);
        byte[] out = b.array();
        out[8] = checksum(out, 0, 20);
        out[32] = checksum(out, 0, 36);
        return out;
    }

    static byte[] xsdt(long... tables) {
        ByteBuffer b = header("XSDT", HEADER_SIZE + 8 * tables.length, 1);
        for (long t : tables) {
            b.putLong(t);
        }
        return finish(b);
    }

    static byte[] fadt(AcpiPlatform p, long dsdt) {
        ByteBuffer b = header("FACP", FADT_SIZE, 6);
        b.putInt(40, (int) dsdt);
        b.putShort(109, (short) (BOOT_ARCH_VGA_NOT_PRESENT | BOOT_ARCH_MSI_NOT_SUPPORTED
                | BOOT_ARCH_CMOS_RTC_NOT_PRESENT));
        b.putInt(112, FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_RESET_REG_SUP | FADT_HW_REDUCED_ACPI);
        gas(b, 116, p.resetPort());
        b.put(128, (byte) p.resetValue());
        b.put(131, (byte) 5); // FADT minor version: ACPI 6.5
        b.putLong(140, dsdt);
        gas(b, 244, p.sleepControlPort());
        gas(b, 256, p.sleepStatusPort());
        b.put(268, ascii("STRATUS", 8));
        return finish(b);
    }

    /** A Generic Address Structure for one byte-wide I/O port. */
    private static void gas(ByteBuffer b, int offset, int port) {
        b.put(offset, (byte) GAS_SYSTEM_IO);
        b.put(offset + 1, (byte) 8); // register bit width
        b.put(offset + 2, (byte) 0); // bit offset
        b.put(offset + 3, (byte) 1); // access size: byte
        b.putLong(offset + 4, port);
    }

    static byte[] madt(AcpiPlatform p) {
        int length = HEADER_SIZE + 8 + 8 * p.vcpus() + 12 + 6;
        ByteBuffer b = header("APIC", length, 5);
        b.position(HEADER_SIZE);
        b.putInt((int) 0xfee00000L); // local APIC address
        b.putInt(0); // flags: no dual 8259 setup (hardware-reduced)
        for (int cpu = 0; cpu < p.vcpus(); cpu++) {
            b.put((byte) 0).put((byte) 8).put((byte) cpu).put((byte) cpu).putInt(1); // enabled
        }
        b.put((byte) 1).put((byte) 12).put((byte) p.ioapicId()).put((byte) 0).putInt((int) 0xfec00000L).putInt(0);
        b.put((byte) 4).put((byte) 6).put((byte) 0xff).putShort((short) 0).put((byte) 1); // NMI on LINT1 of all
        return finish(b);
    }

    static byte[] dsdt(AcpiPlatform p) {
        List<byte[]> devices = new ArrayList<>();
        if (p.serialPort() != 0) {
            devices.add(Aml.device("COM1",
                    Aml.name("_HID", Aml.eisaId("PNP0501")),
                    Aml.name("_UID", Aml.integer(0)),
                    Aml.name("_STA", Aml.integer(0xf)),
                    Aml.name("_CRS", Aml.resourceTemplate(
                            Aml.io(p.serialPort(), p.serialPort(), 1, 8),
                            Aml.irqNoFlags(p.serialIrq())))));
        }
        for (int i = 0; i < p.mmioDevices().size(); i++) {
            AcpiMmioDevice d = p.mmioDevices().get(i);
            devices.add(Aml.device(String.format("V%03X", i),
                    Aml.name("_HID", Aml.string(d.hid())),
                    Aml.name("_UID", Aml.integer(i)),
                    Aml.name("_CCA", Aml.integer(1)),
                    Aml.name("_CRS", Aml.resourceTemplate(
                            Aml.memory32Fixed(true, d.base(), d.size()),
                            Aml.interrupt(true, false, false, d.gsi())))));
        }
        byte[] body = Aml.concat(
                Aml.scope("\\_SB_", devices.toArray(new byte[0][])),
                Aml.name("\\_S5_", Aml.packageOf(Aml.integer(S5_SLEEP_TYPE), Aml.integer(0),
                        Aml.integer(0), Aml.integer(0))));
        ByteBuffer b = header("DSDT", HEADER_SIZE + body.length, 2);
        b.put(HEADER_SIZE, body);
        return finish(b);
    }

    private static ByteBuffer header(String signature, int length, int revision) {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(signature.getBytes(StandardCharsets.US_ASCII));
        b.putInt(length);
        b.put((byte) revision);
        b.put((byte) 0); // checksum, set by finish()
        b.put(ascii(OEM_ID, 6));
        b.put(ascii(OEM_TABLE_ID, 8));
        b.putInt(1); // OEM revision
        b.put(ascii("STRA", 4)); // creator id
        b.putInt(1); // creator revision
        return b;
    }

    private static byte[] finish(ByteBuffer b) {
        byte[] out = b.array();
        out[9] = checksum(out, 0, out.length);
        return out;
    }

    static byte checksum(byte[] data, int offset, int length) {
        int sum = 0;
        for (int i = offset; i < offset + length; i++) {
            sum += data[i];
        }
        return (byte) -sum;
    }

    private static long align(long v) {
        return (v + 15) & ~15L;
    }

    private static byte[] ascii(String s, int width) {
        byte[] out = new byte[width];
        byte[] text = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(text, 0, out, 0, Math.min(width, text.length));
        return out;
    }
}
