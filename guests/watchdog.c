/*
 * Arms an IB700 watchdog (ISA ports 0x441/0x443) and stops feeding it, as a hung guest would.
 * Writing a timeout index to 0x443 starts (or feeds) the timer; 0x441 stops it. The index
 * picks the timeout from the IB700's table (30 s at 0 down to 0 s at 15, 2 s apart), which
 * Linux's ib700wdt and QEMU's ib700 share: "wd.index=14" (2 s) unless the command line says.
 */
#include "guest.h"

#define IB700_STOP 0x441
#define IB700_START 0x443

static int index_from(const char *cmdline)
{
    const char *key = "wd.index=";
    for (const char *p = cmdline; p && *p; p++) {
        const char *k = key;
        const char *q = p;
        while (*k && *q == *k) {
            k++;
            q++;
        }
        if (!*k) {
            int v = 0;
            while (*q >= '0' && *q <= '9')
                v = v * 10 + (*q++ - '0');
            return v & 0xf;
        }
    }
    return 14;
}

void user_main(const struct hvm_start_info *si)
{
    int index = index_from(si->cmdline_paddr ? (const char *)si->cmdline_paddr : 0);
    /* Said first: a 0 s timeout fires before anything written after the arming. */
    puts("STRATUS-WATCHDOG-ARMED\n");
    pio_write8(IB700_STOP, 0);
    pio_write8(IB700_START, (u8)index);
    for (;;)
        ;
}
