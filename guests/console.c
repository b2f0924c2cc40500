/* Output and power-off for the test guests, usable at CPL0 and CPL3. */
#include "guest.h"

#define PIO_GATE_MAGIC 0x50494f47ul /* "PIOG", checked by start.S's pio_gate */
#define IDLE_GATE_MAGIC 0x49444c47ul /* "IDLG", likewise */

static int at_cpl0(void)
{
    u16 cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return (cs & 3) == 0;
}

void pio_write8(u16 port, u8 value)
{
    if (at_cpl0())
        outb(port, value);
    else
        __asm__ volatile("int3" : : "a"(PIO_GATE_MAGIC), "D"(port), "S"(value) : "memory");
}

void idle(void)
{
    if (at_cpl0())
        for (;;)
            __asm__ volatile("sti; hlt");
    __asm__ volatile("int3" : : "a"(IDLE_GATE_MAGIC) : "memory");
    __builtin_unreachable();
}

void putc(char c) { pio_write8(COM1, (u8)c); }

void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

void put_hex(u64 v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[17];
    int i = 16;
    buf[16] = 0;
    do {
        buf[--i] = digits[v & 0xf];
        v >>= 4;
    } while (v && i > 0);
    puts(&buf[i]);
}

void put_dec(u64 v)
{
    char buf[21];
    int i = 20;
    buf[20] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    puts(&buf[i]);
}

void poweroff(void)
{
    pio_write8(ACPI_SLEEP_CONTROL, ACPI_SLEEP_S5);
    for (;;)
        __asm__ volatile("pause");
}

