/* An idle guest: announces itself, then halts with interrupts enabled, as an idle kernel does. */
#include "guest.h"

void kernel_main(const struct hvm_start_info *si)
{
    (void)si;
    puts("STRATUS-IDLE\n");
    for (;;)
        __asm__ volatile("sti; hlt");
}

void user_main(const struct hvm_start_info *si)
{
    (void)si;
}
