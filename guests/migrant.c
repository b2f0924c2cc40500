/*
 * For live-migration tests: counts, and keeps a region of RAM from 16 MiB up in a known state.
 * Every pass first checks that each page of the region still holds what the previous pass wrote
 * there, then rewrites every page with the next pass's pattern; every `mig.every` passes it prints
 * "COUNT n OK" (or "COUNT n BAD page=p" for the first page that lost its content). A migration that
 * misses a dirty page, or restarts the guest, shows in the count or the check. Command line:
 * mig.kib=<region size in KiB> (default 1024), mig.delay=<idle loops between passes> (default
 * 2000000), mig.every=<passes per line> (default 16). Runs at CPL3, natively even where KVM
 * emulates guest kernel code.
 */
#include "guest.h"

#define REGION_START (16ull << 20)

static inline u64 pattern(u64 page, u64 pass)
{
    return (page + 1) * 0x9e3779b97f4a7c15ull ^ (pass + 1) * 0xc2b2ae3d27d4eb4full;
}

void user_main(const struct hvm_start_info *si)
{
    const char *cmdline = (const char *)si->cmdline_paddr;
    u64 pages = cmdline_option(cmdline, "mig.kib=", 1024) / 4;
    u64 delay = cmdline_option(cmdline, "mig.delay=", 2000000);
    u64 every = cmdline_option(cmdline, "mig.every=", 16);
    u64 bad_page = ~0ull;

    if (every == 0)
        every = 1;
    for (u64 pass = 0;; pass++) {
        for (u64 p = 0; p < pages; p++) {
            volatile u64 *words = (volatile u64 *)(REGION_START + p * 4096);
            if (pass > 0) {
                u64 want = pattern(p, pass - 1);
                for (u64 w = 0; w < 512; w++) {
                    if (words[w] != want + w && bad_page == ~0ull)
                        bad_page = p;
                }
            }
            u64 next = pattern(p, pass);
            for (u64 w = 0; w < 512; w++)
                words[w] = next + w;
        }
        if (pass % every == 0) {
            puts("COUNT ");
            put_dec(pass / every);
            if (bad_page == ~0ull) {
                puts(" OK\n");
            } else {
                puts(" BAD page=");
                put_dec(bad_page);
                puts("\n");
            }
        }
        for (volatile u64 i = 0; i < delay; i++)
            ;
    }
}
