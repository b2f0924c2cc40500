package io.stratus.kvm.memory;

/**
 * A contiguous range of guest RAM and where it lies in the host mapping.
 *
 * @param start first guest-physical address
 * @param size length in bytes
 * @param mappingOffset offset of {@code start} in the host mapping
 */
public record GuestRegion(GuestAddress start, long size, long mappingOffset) {
    public GuestRegion {
        if (size <= 0) {
            throw new IllegalArgumentException("region size must be positive");
        }
        if (start.checkedAdd(size) == null) {
            throw new IllegalArgumentException("region at " + start + " of " + size + " bytes overflows");
        }
    }

    /** The first address after the region. */
    public GuestAddress end() {
        return start.add(size);
    }

    public boolean contains(GuestAddress address) {
        return address.value() >= start.value() && address.value() - start.value() < size;
    }
}
