package io.stratus.kvm.memory;

/**
 * Where a guest's RAM is in host memory: how much of it is resident, and how much of that is
 * shared: a KSM page (possibly merged with other guests' pages) or the host's zero page (a page
 * the guest only read, or one KSM merged into it with {@code use_zero_pages}). Giving a shared
 * page back frees nothing while another mapping still uses it; giving back a private resident
 * page frees it.
 *
 * @param mappedBytes the guest RAM the footprint was taken over
 * @param residentBytes mapped to a host page
 * @param ksmBytes mapped to a KSM page (KPF_KSM)
 * @param zeroPageBytes mapped to the host's zero page
 */
public record PageFootprint(long mappedBytes, long residentBytes, long ksmBytes, long zeroPageBytes) {
    public PageFootprint {
        if (mappedBytes < 0 || residentBytes < 0 || ksmBytes < 0 || zeroPageBytes < 0
                || ksmBytes + zeroPageBytes > residentBytes || residentBytes > mappedBytes) {
            throw new IllegalArgumentException("inconsistent footprint: mapped " + mappedBytes + ", resident "
                    + residentBytes + ", KSM " + ksmBytes + ", zero page " + zeroPageBytes);
        }
    }

    /** Resident pages no one else maps: what the host gets back when the guest gives them up. */
    public long privateBytes() {
        return residentBytes - ksmBytes - zeroPageBytes;
    }

    public PageFootprint plus(PageFootprint other) {
        return new PageFootprint(mappedBytes + other.mappedBytes, residentBytes + other.residentBytes,
                ksmBytes + other.ksmBytes, zeroPageBytes + other.zeroPageBytes);
    }
}
