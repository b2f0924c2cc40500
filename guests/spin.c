/* Announces itself, then runs forever in user mode: the host has to stop it. */
#include "guest.h"

void user_main(const struct hvm_start_info *si)
{
    (void)si;
    puts("STRATUS-SPIN\n");
    for (volatile u64 i = 0;; i++)
        ;
}
