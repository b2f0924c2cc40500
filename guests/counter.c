/* Counts forever from user mode, printing each number: snapshot tests check the count goes on after a restore. */
#include "guest.h"

void user_main(const struct hvm_start_info *si)
{
    (void)si;
    for (u64 n = 0;; n++) {
        puts("COUNT ");
        put_dec(n);
        puts("\n");
        for (volatile u64 i = 0; i < 20000000; i++)
            ;
    }
}
