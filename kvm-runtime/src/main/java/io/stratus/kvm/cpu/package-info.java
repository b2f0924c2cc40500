/**
 * What a vCPU is told about itself: CPUID and MSR set-up from what KVM reports on this host.
 */
package io.stratus.kvm.cpu;
