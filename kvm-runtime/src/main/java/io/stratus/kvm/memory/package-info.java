/**
 * Guest RAM: host mappings presented to the guest as regions, with bounds-checked access and
 * direct buffers for zero-copy I/O.
 */
package io.stratus.kvm.memory;
