package io.stratus.kvm.virtio;

import io.stratus.kvm.memory.GuestAddress;

/** One validated buffer of a descriptor chain: in guest RAM, readable or writable by the device. */
public record Descriptor(GuestAddress address, int length, boolean writable) {
}
