/* Loads an empty IDT and raises #UD at CPL0: #UD -> #GP -> #DF -> triple fault. */
#include "guest.h"

void kernel_main(const struct hvm_start_info *si)
{
    struct {
        u16 limit;
        u64 base;
    } __attribute__((packed)) empty = { 0, 0 };
    (void)si;
    puts("STRATUS-TRIPLE\n");
    __asm__ volatile("lidt %0\n\tud2" : : "m"(empty));
}

void user_main(const struct hvm_start_info *si)
{
    (void)si;
}
