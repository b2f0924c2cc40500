/*
 * Exit-rate workload for benchmarks: N port writes from CPL0, then N MMIO writes
 * from CPL3, each to an address no device claims, bracketed by console markers
 * the host timestamps. N comes from "exits=N" on the command line.
 */
#include "guest.h"

#define SPARE_PORT 0x510
#define SPARE_MMIO 0xd1000000ul

static u64 iterations(const struct hvm_start_info *si)
{
    const char *c = (const char *)si->cmdline_paddr;
    for (; *c; c++) {
        if (c[0] == 'e' && c[1] == 'x' && c[2] == 'i' && c[3] == 't' && c[4] == 's' && c[5] == '=') {
            u64 n = 0;
            for (c += 6; *c >= '0' && *c <= '9'; c++)
                n = n * 10 + (u64)(*c - '0');
            return n;
        }
    }
    return 100000;
}

void kernel_main(const struct hvm_start_info *si)
{
    u64 n = iterations(si);
    puts("EXITS-PIO-BEGIN\n");
    for (u64 i = 0; i < n; i++)
        outl(SPARE_PORT, (u32)i);
    puts("EXITS-PIO-END\n");
}

void user_main(const struct hvm_start_info *si)
{
    u64 n = iterations(si);
    puts("EXITS-MMIO-BEGIN\n");
    for (u64 i = 0; i < n; i++)
        *(volatile u32 *)SPARE_MMIO = (u32)i;
    puts("EXITS-MMIO-END\n");
}
