/* CPL0 set-up after long-mode entry, exception reporting, and the print helpers. */
#include "guest.h"

struct idt_gate {
    u16 offset_low;
    u16 selector;
    u8 ist;
    u8 type;
    u16 offset_mid;
    u32 offset_high;
    u32 zero;
} __attribute__((packed));

struct tss64 {
    u32 reserved0;
    u64 rsp0;
    u64 rsp1;
    u64 rsp2;
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
} __attribute__((packed));

extern u64 gdt[];
extern void (*isr_table[32])(void);
extern void pio_gate(void);

extern u8 kernel_stack_top[];
extern u8 user_stack_top[];
extern void user_start(void);

#define PIO_GATE_VECTOR 3
static struct idt_gate idt[32] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));

/* Called from isr_common at CPL0 with the vector and the interrupted RIP. */
void guest_exception(u64 vector, u64 rip)
{
    puts("\nGUEST-EXCEPTION vector=");
    put_dec(vector);
    puts(" rip=0x");
    put_hex(rip);
    puts("\n");
    poweroff();
}

static void set_gate(int vector, void (*handler)(void), int dpl)
{
    u64 a = (u64)handler;
    idt[vector].offset_low = (u16)a;
    idt[vector].selector = 0x08;
    idt[vector].ist = 0;
    idt[vector].type = (u8)(0x8e | (dpl << 5)); /* present, 64-bit interrupt gate */
    idt[vector].offset_mid = (u16)(a >> 16);
    idt[vector].offset_high = (u32)(a >> 32);
    idt[vector].zero = 0;
}

/* Entered from start.S in long mode at CPL0. */
void guest_kernel_entry(const struct hvm_start_info *si)
{
    struct {
        u16 limit;
        u64 base;
    } __attribute__((packed)) idtr = { sizeof(idt) - 1, (u64)idt };
    u64 base = (u64)&tss;

    tss.rsp0 = (u64)kernel_stack_top;
    tss.iomap_base = sizeof(tss);
    /* 16-byte TSS descriptor at GDT index 5 (selector 0x28). */
    gdt[5] = (sizeof(tss) - 1) | ((base & 0xffffff) << 16) | (0x89ul << 40) | (((base >> 24) & 0xff) << 56);
    gdt[6] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(0x28));
    for (int i = 0; i < 32; i++)
        set_gate(i, isr_table[i], 0);
    /* DPL 3 so that INT3 from user mode reaches it instead of raising #GP. */
    set_gate(PIO_GATE_VECTOR, pio_gate, 3);
    __asm__ volatile("lidt %0" : : "m"(idtr));

    if (kernel_main)
        kernel_main(si);

    /* To CPL3: SS, RSP, RFLAGS (IOPL 3, interrupts off), CS, RIP; the argument in RDI. */
    __asm__ volatile(
        "mov %2, %%rdi\n"
        "pushq $0x1b\n"
        "pushq %0\n"
        "pushq $0x3002\n"
        "pushq $0x23\n"
        "pushq %1\n"
        "iretq\n"
        :
        : "r"((u64)user_stack_top), "r"((u64)user_start), "r"((u64)si)
        : "rdi", "memory");
    __builtin_unreachable();
}

/* The number after name (e.g. "mig.kib=") where it starts a word of the kernel command line; fallback if absent. */
u64 cmdline_option(const char *cmdline, const char *name, u64 fallback)
{
    for (const char *p = cmdline; *p; p++) {
        const char *n = name;
        const char *q = p;
        while (*n && *q == *n) {
            n++;
            q++;
        }
        if (*n || (p != cmdline && p[-1] != ' '))
            continue;
        u64 v = 0;
        int digits = 0;
        while (*q >= '0' && *q <= '9') {
            v = v * 10 + (u64)(*q++ - '0');
            digits++;
        }
        return digits ? v : fallback;
    }
    return fallback;
}
