/*
 * A one-sector bzImage setup area with the boot-protocol 2.15 header
 * (Documentation/arch/x86/boot.rst); the payload follows at offset 1024.
 */
    .section .setup, "a"
    .org 0x1f1
    .byte 1                     /* setup_sects: the payload starts at (1 + 1) * 512 */
    .word 0                     /* root_flags */
    .long (PAYLOAD_SIZE + 15) / 16  /* syssize */
    .word 0, 0, 0               /* ram_size, vid_mode, root_dev */
    .word 0xaa55                /* boot_flag */
    .byte 0xeb, 0x66            /* jump; its offset ends the header at 0x268 */
    .ascii "HdrS"
    .word 0x020f                /* protocol 2.15 */
    .long 0                     /* realmode_swtch */
    .word 0x1000, 0             /* start_sys_seg, kernel_version */
    .byte 0                     /* type_of_loader */
    .byte 0x01                  /* loadflags: LOADED_HIGH */
    .word 0x8000                /* setup_move_size */
    .long 0x100000              /* code32_start */
    .long 0, 0, 0               /* ramdisk_image, ramdisk_size, bootsect_kludge */
    .word 0                     /* heap_end_ptr */
    .byte 0, 0                  /* ext_loader_ver, ext_loader_type */
    .long 0                     /* cmd_line_ptr */
    .long 0x7fffffff            /* initrd_addr_max */
    .long 0x200000              /* kernel_alignment */
    .byte 1, 21                 /* relocatable_kernel, min_alignment */
    .word 0x1                   /* xloadflags: XLF_KERNEL_64 */
    .long 2047                  /* cmdline_size */
    .long 0                     /* hardware_subarch */
    .quad 0                     /* hardware_subarch_data */
    .long 0, 0                  /* payload_offset, payload_length */
    .quad 0                     /* setup_data */
    .quad 0x1000000             /* pref_address */
    .long 0x100000              /* init_size */
    .long 0, 0                  /* handover_offset, kernel_info_offset */
    .org 1024
