/*
 * 64-bit entry of bzboot, at offset 0x200 of the loaded image as the Linux boot
 * protocol defines it: long mode, CPL0, RSI pointing at boot_params.
 */
    .section .text.head, "ax"
    .code64
    .org 0x200
    .globl startup_64
startup_64:
    movq $bz_stack_top, %rsp
    movq %rsi, %rdi
    call bz_main
1:  hlt
    jmp 1b

    .bss
    .align 16
    .skip 16384
bz_stack_top:
