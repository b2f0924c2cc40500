/* Helpers for the tiny test guests. Port numbers match the VMM's devices. */
#ifndef STRATUS_GUEST_H
#define STRATUS_GUEST_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;

#define COM1 0x3f8
#define ACPI_SLEEP_CONTROL 0x600
#define ACPI_SLEEP_S5 ((5 << 2) | (1 << 5))
#define I8042_COMMAND 0x64

/* Xen's struct hvm_start_info, version 1. */
struct hvm_start_info {
    u32 magic;
    u32 version;
    u32 flags;
    u32 nr_modules;
    u64 modlist_paddr;
    u64 cmdline_paddr;
    u64 rsdp_paddr;
    u64 memmap_paddr;
    u32 memmap_entries;
    u32 reserved;
};

struct hvm_memmap_entry {
    u64 addr;
    u64 size;
    u32 type;
    u32 reserved;
};

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

/*
 * Port write from either privilege level. User-mode port I/O is not available on
 * every KVM (kvm_pvm ignores IOPL and turns INT n into #UD), so at CPL3 this
 * traps to CPL0 with INT3, the one software interrupt every KVM delivers to the
 * guest's IDT, carrying a magic value in RAX.
 */
void pio_write8(u16 port, u8 value);
void putc(char c);
void puts(const char *s);
void put_hex(u64 v);
void put_dec(u64 v);
u64 cmdline_option(const char *cmdline, const char *name, u64 fallback);
void poweroff(void) __attribute__((noreturn));
/* Halts with interrupts enabled for good, from either privilege level. */
void idle(void) __attribute__((noreturn));

/* Provided by each guest: runs at CPL3 (use pio_write8 for port I/O). */
void user_main(const struct hvm_start_info *start_info);
/* Optional: runs at CPL0 before user_main. */
void kernel_main(const struct hvm_start_info *start_info) __attribute__((weak));

#endif
