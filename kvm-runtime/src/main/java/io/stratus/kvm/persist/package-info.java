/**
 * How a part of the VM saves its state and takes it back (Firecracker's {@code Persist}): each
 * device, transport and queue turns its state into a plain record ({@link io.stratus.kvm.persist.Persist#save})
 * and restores one it is given, checking it first as untrusted input; each record writes and reads
 * its own fields ({@link io.stratus.kvm.persist.StateWriter}, {@link io.stratus.kvm.persist.StateReader}).
 * The snapshot file and the migration stream compose the records ({@code snapshot.SnapshotCodec}).
 */
package io.stratus.kvm.persist;
