/*
 * At CPL0, loads an x87 value from device MMIO (the unmapped MMIO hole). KVM must
 * emulate the access and its emulator has no FLD m32: KVM_EXIT_INTERNAL_ERROR,
 * on hardware-virtualised hosts and emulating ones alike.
 */
#include "guest.h"

void kernel_main(const struct hvm_start_info *si)
{
    (void)si;
    puts("STRATUS-EMULFAIL\n");
    /* fld dword [rax], spelled as bytes: the guests are built without x87 code generation. */
    __asm__ volatile(".byte 0xd9, 0x00" : : "a"(0xd0000000ul) : "memory");
    puts("STRATUS-EMULFAIL-SURVIVED\n");
}

void user_main(const struct hvm_start_info *si)
{
    (void)si;
}
