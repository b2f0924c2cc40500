package io.stratus.kvm.boot;

/**
 * One entry of the guest's physical memory map, in e820 terms.
 *
 * @param type {@link #RAM}, {@link #RESERVED} or {@link #ACPI}
 */
public record E820Entry(long address, long size, int type) {
    public static final int RAM = 1;
    public static final int RESERVED = 2;
    public static final int ACPI = 3;

    public E820Entry {
        if (size <= 0 || address < 0 || address + size < address) {
            throw new IllegalArgumentException("bad e820 range at 0x" + Long.toHexString(address) + " size " + size);
        }
    }

    public long end() {
        return address + size;
    }
}
