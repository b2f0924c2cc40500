/*
 * INT3 at CPL0: on hardware it traps natively; where KVM emulates guest kernel
 * code, its emulator cannot run INT3 and the VMM delivers the #BP itself. Either
 * way the guest's vector-3 handler reports it with the RIP after the INT3.
 */
#include "guest.h"

extern char after_int3[];

void kernel_main(const struct hvm_start_info *si)
{
    (void)si;
    puts("STRATUS-BREAKPOINT expect rip=0x");
    put_hex((u64)after_int3);
    puts("\n");
    __asm__ volatile("xor %%eax, %%eax\n\tint3\n\t.globl after_int3\nafter_int3:" : : : "rax", "memory");
    puts("STRATUS-BREAKPOINT-RETURNED\n");
}

void user_main(const struct hvm_start_info *si)
{
    (void)si;
}
