package io.stratus.kvm.boot;

import io.stratus.kvm.memory.GuestAddress;

/** Where the initrd lies in guest memory. */
public record InitrdRange(GuestAddress start, long size) {
}
