package io.stratus.kvm.boot;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Linux's {@code struct boot_params} (the "zero page") for the 64-bit boot protocol. Offsets
 * are those of arch/x86/include/uapi/asm/bootparam.h.
 */
public final class LinuxBootParams {
    public static final int SIZE = 4096;
    static final int ACPI_RSDP_ADDR = 0x070;
    static final int EXT_RAMDISK_IMAGE = 0x0c0;
    static final int EXT_RAMDISK_SIZE = 0x0c4;
    static final int EXT_CMD_LINE_PTR = 0x0c8;
    static final int E820_ENTRIES = 0x1e8;
    static final int BOOT_FLAG = 0x1fe;
    static final int HEADER_MAGIC = 0x202;
    static final int TYPE_OF_LOADER = 0x210;
    static final int LOADFLAGS = 0x211;
    static final int RAMDISK_IMAGE = 0x218;
    static final int RAMDISK_SIZE = 0x21c;
    static final int HEAP_END_PTR = 0x224;
    static final int CMD_LINE_PTR = 0x228;
    static final int KERNEL_ALIGNMENT = 0x230;
    static final int E820_TABLE = 0x2d0;
    static final int E820_MAX = 128;

    private static final byte CAN_USE_HEAP = (byte) 0x80;
    private static final byte LOADED_HIGH = 0x01;

    private LinuxBootParams() {
    }

    /**
     * Builds the zero page.
     *
     * @param setupHeader the bzImage's setup header, or empty for an ELF kernel (then a minimal
     *                    header is synthesised, as Firecracker does)
     * @param initrd the initrd's guest range, or {@code null}
     */
    public static byte[] build(byte[] setupHeader, List<E820Entry> e820, GuestAddress cmdline,
                               InitrdRange initrd, GuestAddress rsdp) {
        if (e820.size() > E820_MAX) {
            throw new IllegalArgumentException("more than " + E820_MAX + " e820 entries");
        }
        ByteBuffer zp = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        if (setupHeader.length > 0) {
            zp.put(BzImageLoader.HEADER_START, setupHeader);
        } else {
            zp.putShort(BOOT_FLAG, (short) 0xaa55);
            zp.putInt(HEADER_MAGIC, 0x53726448);
            zp.putInt(KERNEL_ALIGNMENT, 0x0100_0000);
        }
        zp.put(TYPE_OF_LOADER, (byte) 0xff);
        zp.put(LOADFLAGS, (byte) (zp.get(LOADFLAGS) | CAN_USE_HEAP | LOADED_HIGH));
        zp.putShort(HEAP_END_PTR, (short) 0xfe00);
        zp.putInt(CMD_LINE_PTR, (int) cmdline.value());
        zp.putInt(EXT_CMD_LINE_PTR, (int) (cmdline.value() >>> 32));
        if (initrd != null) {
            zp.putInt(RAMDISK_IMAGE, (int) initrd.start().value());
            zp.putInt(EXT_RAMDISK_IMAGE, (int) (initrd.start().value() >>> 32));
            zp.putInt(RAMDISK_SIZE, (int) initrd.size());
            zp.putInt(EXT_RAMDISK_SIZE, (int) (initrd.size() >>> 32));
        }
        if (rsdp != null) {
            zp.putLong(ACPI_RSDP_ADDR, rsdp.value());
        }
        zp.put(E820_ENTRIES, (byte) e820.size());
        for (int i = 0; i < e820.size(); i++) {
            E820Entry e = e820.get(i);
            int o = E820_TABLE + i * 20;
            zp.putLong(o, e.address());
            zp.putLong(o + 8, e.size());
            zp.putInt(o + 16, e.type());
        }
        return zp.array();
    }

    /** Writes the zero page to {@link BootLayout#ZERO_PAGE}. */
    public static GuestAddress write(GuestMemory memory, byte[] zeroPage) {
        GuestAddress at = GuestAddress.of(BootLayout.ZERO_PAGE);
        memory.write(at, zeroPage);
        return at;
    }
}
