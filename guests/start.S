/*
 * PVH entry of the tiny test guests: 32-bit protected mode, paging off, EBX
 * pointing at hvm_start_info. Switches to long mode with the first 4 GiB
 * identity-mapped (user-accessible, so CPL3 code can reach device MMIO), then
 * calls guest_kernel_entry() at CPL0.
 */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10

    .section .note.Xen, "a", @note
    .align 4
    .long 4             /* namesz */
    .long 4             /* descsz */
    .long 18            /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .align 4
    .long pvh_start
    .align 4

    .section .text.boot, "ax"
    .code32
    .globl pvh_start
pvh_start:
    cli
    movl %ebx, %esi
    movl $pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $((1 << 5) | (1 << 9) | (1 << 10)), %eax    /* PAE, OSFXSR, OSXMMEXCPT */
    movl %eax, %cr4
    movl $0xc0000080, %ecx                          /* EFER.LME */
    rdmsr
    orl $(1 << 8), %eax
    wrmsr
    movl %cr0, %eax
    andl $~(1 << 2), %eax                           /* no x87 emulation */
    orl $((1 << 31) | (1 << 1) | 1), %eax           /* PG, MP, PE */
    movl %eax, %cr0
    lgdt gdt_descriptor
    ljmp $KERNEL_CS, $long_mode

    .code64
long_mode:
    movw $KERNEL_DS, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movq $kernel_stack_top, %rsp
    movl %esi, %edi
    call guest_kernel_entry
1:  hlt
    jmp 1b

    /* CPL3 starts here with the start-info pointer in RDI; powers off when user_main returns. */
    .globl user_start
user_start:
    call user_main
    call poweroff

    /*
     * INT3 with RAX = "PIOG": out %sil -> port %di at CPL0, then back after the
     * INT3 (a trap: the saved RIP is the next instruction). RAX = "IDLG": halt
     * with interrupts on for good, as an idle kernel does (user mode cannot HLT).
     * Any other INT3 is reported as exception 3.
     */
    .globl pio_gate
pio_gate:
    cmpq $0x49444c47, %rax
    je idle_forever
    cmpq $0x50494f47, %rax
    jne isr3
    pushq %rax
    pushq %rdx
    movl %esi, %eax
    movl %edi, %edx
    outb %al, %dx
    popq %rdx
    popq %rax
    iretq

idle_forever:
    sti
    hlt
    jmp idle_forever

    /* Exception stubs: push the vector and report it. */
    .macro isr vector, has_error
isr\vector:
    .if \has_error
    popq %rax
    .endif
    movq $\vector, %rdi
    movq (%rsp), %rsi
    andq $~0xf, %rsp
    call guest_exception
    .endm

    isr 0, 0
    isr 1, 0
    isr 2, 0
    isr 3, 0
    isr 4, 0
    isr 5, 0
    isr 6, 0
    isr 7, 0
    isr 8, 1
    isr 9, 0
    isr 10, 1
    isr 11, 1
    isr 12, 1
    isr 13, 1
    isr 14, 1
    isr 15, 0
    isr 16, 0
    isr 17, 1
    isr 18, 0
    isr 19, 0
    isr 20, 0
    isr 21, 1
    isr 22, 0
    isr 23, 0
    isr 24, 0
    isr 25, 0
    isr 26, 0
    isr 27, 0
    isr 28, 0
    isr 29, 1
    isr 30, 1
    isr 31, 0

    .section .rodata
    .align 8
    .globl isr_table
isr_table:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad isr\v
    .endr

    .data
    .align 16
    .globl gdt
gdt:
    .quad 0                     /* null */
    .quad 0x00af9a000000ffff    /* 0x08: kernel code, 64-bit */
    .quad 0x00cf92000000ffff    /* 0x10: kernel data */
    .quad 0x00cff2000000ffff    /* 0x18: user data (selector 0x1b) */
    .quad 0x00affa000000ffff    /* 0x20: user code, 64-bit (selector 0x23) */
    .quad 0, 0                  /* 0x28: TSS, filled in by guest_kernel_entry */
gdt_end:
gdt_descriptor:
    .word gdt_end - gdt - 1
    .quad gdt

    /* Identity map of the first 4 GiB in 2 MiB pages: present, writable, user. */
    .section .data.pagetables, "aw"
    .align 4096
pml4:
    .quad pdpt + 0x7
    .fill 511, 8, 0
pdpt:
    .quad pd + 0x7, pd + 0x1007, pd + 0x2007, pd + 0x3007
    .fill 508, 8, 0
pd:
    .set page, 0
    .rept 2048
    .quad (page << 21) | 0x87
    .set page, page + 1
    .endr

    .bss
    .align 16
    .skip 16384
    .globl kernel_stack_top
kernel_stack_top:
    .skip 65536
    .globl user_stack_top
user_stack_top:
