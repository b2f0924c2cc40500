/**
 * A client of the Network Block Device protocol (the NBD project's {@code proto.md}): what lets a
 * virtio-blk disk's data live on an NBD server ({@code qemu-nbd}, {@code nbdkit}, Ceph's
 * {@code rbd-nbd}, the volume service's exports).
 */
package io.stratus.kvm.nbd;
