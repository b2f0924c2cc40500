/* Prints a greeting from user mode and powers off through ACPI. */
#include "guest.h"

void user_main(const struct hvm_start_info *si)
{
    (void)si;
    puts("Hello from a Stratus test guest\n");
}
