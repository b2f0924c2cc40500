package io.stratus.kvm.memory;

/**
 * A guest-physical address. Arithmetic on it is checked: an address never wraps around, so a
 * guest-supplied offset cannot turn into a small address by overflow.
 */
public record GuestAddress(long value) implements Comparable<GuestAddress> {
    public GuestAddress {
        if (value < 0) {
            throw new IllegalArgumentException("guest address 0x" + Long.toHexString(value) + " is above 2^63");
        }
    }

    public static GuestAddress of(long value) {
        return new GuestAddress(value);
    }

    /** This address plus {@code offset}; fails on overflow. */
    public GuestAddress add(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
        long sum = value + offset;
        if (sum < value) {
            throw new GuestMemoryException("address 0x" + Long.toHexString(value) + " + " + offset + " overflows");
        }
        return new GuestAddress(sum);
    }

    /** This address plus {@code offset}, or {@code null} on overflow. */
    public GuestAddress checkedAdd(long offset) {
        if (offset < 0 || value + offset < value) {
            return null;
        }
        return new GuestAddress(value + offset);
    }

    /** The distance from {@code base} to this address; fails if this address is below it. */
    public long offsetFrom(GuestAddress base) {
        if (value < base.value) {
            throw new IllegalArgumentException(this + " is below " + base);
        }
        return value - base.value;
    }

    /** Rounds down to a multiple of {@code alignment} (a power of two). */
    public GuestAddress alignDown(long alignment) {
        return new GuestAddress(value & -alignment);
    }

    @Override
    public int compareTo(GuestAddress o) {
        return Long.compare(value, o.value);
    }

    @Override
    public String toString() {
        return "0x" + Long.toHexString(value);
    }
}
