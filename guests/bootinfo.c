/*
 * Reports what the VMM handed over: the PVH start info (magic, command line,
 * memory map), the ACPI RSDP signature, and the CPUID the vCPU sees. CPUID runs
 * at CPL0: on kvm_pvm hosts user-mode CPUID is not intercepted and returns the
 * host's values.
 */
#include "guest.h"

static int same(const char *a, const char *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

void kernel_main(const struct hvm_start_info *si)
{
    u32 a, b, c, d;
    char signature[13];

    (void)si;
    cpuid(0x40000000, 0, &a, &b, &c, &d);
    *(u32 *)&signature[0] = b;
    *(u32 *)&signature[4] = c;
    *(u32 *)&signature[8] = d;
    signature[12] = 0;
    puts("hypervisor=");
    puts(signature);
    cpuid(1, 0, &a, &b, &c, &d);
    puts(" hvbit=");
    put_dec((c >> 31) & 1);
    puts(" apicid=");
    put_dec(b >> 24);
    puts(" logical=");
    put_dec((b >> 16) & 0xff);
    puts(" ecx=0x");
    put_hex(c);
    puts("\n");
}

void user_main(const struct hvm_start_info *si)
{
    u64 ram = 0;
    const struct hvm_memmap_entry *map = (const struct hvm_memmap_entry *)si->memmap_paddr;

    puts("magic=");
    put_hex(si->magic);
    puts(" version=");
    put_dec(si->version);
    puts("\ncmdline=");
    puts((const char *)si->cmdline_paddr);
    puts("\nmemmap=");
    put_dec(si->memmap_entries);
    for (u32 i = 0; i < si->memmap_entries; i++)
        if (map[i].type == 1)
            ram += map[i].size;
    puts(" ramkb=");
    put_dec(ram >> 10);
    puts("\nrsdp=");
    puts(si->rsdp_paddr && same((const char *)si->rsdp_paddr, "RSD PTR ", 8) ? "ok" : "missing");
    puts("\nSTRATUS-BOOTINFO-END\n");
}
