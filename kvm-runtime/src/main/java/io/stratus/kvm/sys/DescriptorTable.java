package io.stratus.kvm.sys;

/** The GDTR or IDTR: a table's guest-linear base and limit ({@code struct kvm_dtable}). */
public record DescriptorTable(long base, int limit) {
}
