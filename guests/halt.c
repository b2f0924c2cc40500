/* Halts the CPU with interrupts disabled, as Linux's halt does without ACPI power-off. */
#include "guest.h"

void kernel_main(const struct hvm_start_info *si)
{
    (void)si;
    puts("STRATUS-HALT\n");
    for (;;)
        __asm__ volatile("cli; hlt");
}

void user_main(const struct hvm_start_info *si)
{
    (void)si;
}
