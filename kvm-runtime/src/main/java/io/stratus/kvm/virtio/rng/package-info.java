/** virtio-rng: the entropy device, filling the guest's buffers from the host's random source. */
package io.stratus.kvm.virtio.rng;
