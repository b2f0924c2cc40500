/*
 * Fills guest RAM from 4 MiB up with content that differs on every page and is the
 * same in every guest of the same size, then idles: two such guests are what KSM
 * can merge page for page. The fill runs at CPL3, where code runs natively even on
 * hosts whose KVM emulates guest kernel code.
 */
#include "guest.h"

#define FIRST (4ull << 20)
#define LIMIT (4ull << 30)

void user_main(const struct hvm_start_info *si)
{
    const struct hvm_memmap_entry *map = (const struct hvm_memmap_entry *)si->memmap_paddr;
    u64 filled = 0;

    for (u32 i = 0; i < si->memmap_entries; i++) {
        if (map[i].type != 1)
            continue;
        u64 start = map[i].addr < FIRST ? FIRST : map[i].addr;
        u64 end = map[i].addr + map[i].size > LIMIT ? LIMIT : map[i].addr + map[i].size;
        for (u64 page = start; page + 4096 <= end; page += 4096) {
            volatile u64 *words = (volatile u64 *)page;
            u64 seed = (page >> 12) * 0x9e3779b97f4a7c15ull;
            for (int w = 0; w < 512; w++)
                words[w] = seed + (u64)w;
            filled += 4096;
        }
    }
    puts("STRATUS-PAGES-FILLED kb=");
    put_dec(filled >> 10);
    puts("\n");
    idle();
}
