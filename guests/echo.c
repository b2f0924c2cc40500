/* Reads one line from the UART (polling at CPL0) and prints it back: host console input reaches the guest. */
#include "guest.h"

void kernel_main(const struct hvm_start_info *si)
{
    char line[128];
    unsigned int n = 0;

    (void)si;
    puts("STRATUS-ECHO-READY\n");
    for (;;) {
        while (!(inb(COM1 + 5) & 1))
            __asm__ volatile("pause");
        char c = (char)inb(COM1);
        if (c == '\n' || c == '\r' || n == sizeof(line) - 1)
            break;
        line[n++] = c;
    }
    line[n] = 0;
    puts("ECHO: ");
    puts(line);
    puts("\n");
}

void user_main(const struct hvm_start_info *si)
{
    (void)si;
}
