/*
 * For the live-migration benchmark: measures, inside the guest, how long it was kept from running.
 * It spins at CPL3 (natively, even where KVM emulates guest kernel code) reading the TSC, and keeps
 * the largest gap between two consecutive reads; every mb.report milliseconds it prints
 * "MBGAP <largest gap in microseconds> SEQ <report number>" and starts a new window. The time it
 * spends printing is not counted as a gap (unless it was stopped while printing). A migration's
 * switch-over shows as the gap of the first window that ends on the target, provided the guest's
 * TSC runs on through it (same host).
 *
 * Busy mode (mb.kib > 0) also rewrites, page after page, a region of mb.kib KiB from 16 MiB up,
 * paced at mb.rate MiB of pages per second (0: as fast as it can), so that pages keep getting dirty
 * while the VMM copies them. Command line: mb.tsckhz=<TSC frequency in kHz, from the host>
 * (required), mb.report=<ms> (default 100), mb.kib=<busy region in KiB> (default 0: idle),
 * mb.rate=<MiB/s> (default 0). It prints "MBREADY" once the region has been written once.
 */
#include "guest.h"

#define REGION_START (16ull << 20)

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

static void write_page(u64 page, u64 pass)
{
    volatile u64 *words = (volatile u64 *)(REGION_START + page * 4096);
    u64 v = (page + 1) * 0x9e3779b97f4a7c15ull ^ (pass + 1) * 0xc2b2ae3d27d4eb4full;
    for (u64 w = 0; w < 512; w++)
        words[w] = v + w;
}

void user_main(const struct hvm_start_info *si)
{
    const char *cmdline = (const char *)si->cmdline_paddr;
    u64 khz = cmdline_option(cmdline, "mb.tsckhz=", 0);
    u64 report_ms = cmdline_option(cmdline, "mb.report=", 100);
    u64 pages = cmdline_option(cmdline, "mb.kib=", 0) / 4;
    u64 rate_mib = cmdline_option(cmdline, "mb.rate=", 0);

    if (khz == 0) {
        puts("MBERROR no mb.tsckhz on the command line\n");
        poweroff();
    }
    for (u64 p = 0; p < pages; p++)
        write_page(p, 0);
    puts("MBREADY\n");

    u64 window = report_ms * khz;
    /* TSC ticks per page at the requested rate: khz * 1000 / (rate_mib * 256 pages/s). */
    u64 ticks_per_page = rate_mib ? khz * 1000 / (rate_mib * 256) : 0;
    u64 page = 0, pass = 1, seq = 0;
    u64 start = rdtsc();
    u64 last = start, window_start = start, largest = 0, next_write = start, min_print = ~0ull;
    for (;;) {
        u64 now = rdtsc();
        u64 gap = now - last;
        if (gap > largest)
            largest = gap;
        last = now;
        if (pages && (ticks_per_page == 0 || now >= next_write)) {
            write_page(page, pass);
            if (++page == pages) {
                page = 0;
                pass++;
            }
            next_write += ticks_per_page;
            /* After a long pause, do not catch up in a burst: resume the pace from now. */
            if (ticks_per_page && now > next_write + window)
                next_write = now;
        }
        if (now - window_start >= window) {
            puts("MBGAP ");
            put_dec(largest * 1000 / khz);
            puts(" SEQ ");
            put_dec(seq++);
            puts("\n");
            last = rdtsc();
            /*
             * Printing is not a gap, unless the guest was stopped while it printed: a print that
             * took more than 4 times the quickest one is counted in the next window.
             */
            u64 printed = last - now;
            if (printed < min_print)
                min_print = printed;
            largest = printed > 4 * min_print ? printed : 0;
            window_start = last;
        }
    }
}
