/* Pulses the CPU reset line through the i8042 controller (Linux's reboot=k). */
#include "guest.h"

void user_main(const struct hvm_start_info *si)
{
    (void)si;
    puts("STRATUS-RESET\n");
    pio_write8(I8042_COMMAND, 0xfe);
    for (;;)
        ;
}
