/*
 * Entered through the Linux 64-bit boot protocol: reports what boot_params
 * carries (loader type, command line, e820 map, RSDP, header magic) at CPL0,
 * then powers off.
 */
#include "guest.h"

#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_HEADER 0x202
#define BP_TYPE_OF_LOADER 0x210
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0

void bz_main(const u8 *bp)
{
    u64 cmdline = *(const u32 *)(bp + BP_CMD_LINE_PTR) | (u64)*(const u32 *)(bp + BP_EXT_CMD_LINE_PTR) << 32;
    u8 entries = bp[BP_E820_ENTRIES];
    u64 ram = 0;
    u64 rsdp = *(const u64 *)(bp + BP_ACPI_RSDP_ADDR);

    for (int i = 0; i < entries; i++) {
        const u8 *e = bp + BP_E820_TABLE + 20 * i;
        if (*(const u32 *)(e + 16) == 1)
            ram += *(const u64 *)(e + 8);
    }
    puts("bzboot loader=0x");
    put_hex(bp[BP_TYPE_OF_LOADER]);
    puts(" hdr=");
    puts(*(const u32 *)(bp + BP_HEADER) == 0x53726448 ? "HdrS" : "missing");
    puts("\ncmdline=");
    puts((const char *)cmdline);
    puts("\ne820=");
    put_dec(entries);
    puts(" ramkb=");
    put_dec(ram >> 10);
    puts(" rsdp=");
    puts(rsdp && *(const u64 *)rsdp == 0x2052545020445352ul ? "ok" : "missing");
    puts("\nSTRATUS-BZBOOT-END\n");
    poweroff();
}
