/**
 * Kernel loading and boot protocols: ELF through the PVH entry, bzImage through the Linux x86-64
 * boot protocol, the structures each hands to the kernel, the MP table and the entry registers.
 */
package io.stratus.kvm.boot;
