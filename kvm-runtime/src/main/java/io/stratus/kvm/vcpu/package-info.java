/**
 * vCPU threads: the KVM_RUN loop and the dispatch of exits to the buses.
 */
package io.stratus.kvm.vcpu;
