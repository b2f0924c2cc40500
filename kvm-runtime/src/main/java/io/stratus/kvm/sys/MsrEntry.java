package io.stratus.kvm.sys;

/** A model-specific register and its value ({@code struct kvm_msr_entry}). */
public record MsrEntry(int index, long data) {
}
