/*
 * A stand-in for a booted server, for agent tests: announces itself with the line the kit's
 * initramfs prints (vCPUs counted in the VMM's MADT, RAM summed from the PVH memory map), then
 * keeps one vCPU busy in user mode and prints a tick now and then. The ticks go on across a
 * snapshot and restore and start again from 0 after a fresh boot: tests tell the two apart.
 * With "stratus.idle" on the command line it idles after its ready line instead (benchmarks
 * that boot many at once).
 */
#include "guest.h"

struct acpi_header {
    char signature[4];
    u32 length;
    u8 revision;
    u8 checksum;
    char oem[6];
    char oem_table[8];
    u32 oem_revision;
    u32 creator;
    u32 creator_revision;
} __attribute__((packed));

static int same(const char *a, const char *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static int has_word(const char *s, const char *word, int n)
{
    for (const char *p = s; p && *p; p++)
        if ((p == s || p[-1] == ' ') && same(p, word, n) && (p[n] == 0 || p[n] == ' '))
            return 1;
    return 0;
}

/* Enabled processor-local APIC entries (type 0, flags bit 0) in the MADT found through the XSDT. */
static u32 count_cpus(u64 rsdp)
{
    if (!rsdp || !same((const char *)rsdp, "RSD PTR ", 8))
        return 0;
    const struct acpi_header *xsdt = (const struct acpi_header *)*(const u64 *)(rsdp + 24);
    u32 entries = (xsdt->length - sizeof(*xsdt)) / 8;
    const u8 *list = (const u8 *)xsdt + sizeof(*xsdt);
    for (u32 i = 0; i < entries; i++) {
        u64 address;
        __builtin_memcpy(&address, list + 8 * i, 8);
        const struct acpi_header *table = (const struct acpi_header *)address;
        if (!same(table->signature, "APIC", 4))
            continue;
        u32 cpus = 0;
        const u8 *p = (const u8 *)table + sizeof(*table) + 8;
        const u8 *end = (const u8 *)table + table->length;
        while (p + 2 <= end && p[1] >= 2) {
            if (p[0] == 0 && (p[4] & 1))
                cpus++;
            p += p[1];
        }
        return cpus;
    }
    return 0;
}

void user_main(const struct hvm_start_info *si)
{
    u64 ram = 0;
    const struct hvm_memmap_entry *map = (const struct hvm_memmap_entry *)si->memmap_paddr;

    for (u32 i = 0; i < si->memmap_entries; i++)
        if (map[i].type == 1)
            ram += map[i].size;
    puts("STRATUS-GUEST-READY cpus=");
    put_dec(count_cpus(si->rsdp_paddr));
    puts(" memkb=");
    put_dec(ram >> 10);
    puts("\n");
    if (has_word((const char *)si->cmdline_paddr, "stratus.idle", 12))
        idle();
    for (u64 n = 0;; n++) {
        puts("TICK ");
        put_dec(n);
        puts("\n");
        for (volatile u64 i = 0; i < 1000000000; i++)
            ;
    }
}
