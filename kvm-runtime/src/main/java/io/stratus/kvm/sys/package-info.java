/**
 * Native bindings: libc and the KVM ioctls, one type per KVM file-descriptor level (Kvm, VmFd,
 * VcpuFd). The only package that touches native memory layouts; everything above it sees records.
 */
package io.stratus.kvm.sys;
