package io.stratus.kvm.persist;

/**
 * A part of the VM whose state a snapshot or a migration carries (Firecracker's
 * {@code snapshot/persist.rs}): {@link #save} returns a plain record, {@link #restore} takes one
 * back into a freshly built part, before the guest runs.
 *
 * <p>A restored record is untrusted input: it comes from a file on disk or from another host.
 * {@link #restore} checks it against what this part could have saved (its sizes, ranges and
 * invariants) and refuses it, so that the VM being restored is discarded rather than run a guest
 * on state the device could never have been in (as rust-vmm's {@code TryFrom<QueueState> for Queue}).
 *
 * @param <S> the state record
 */
public interface Persist<S> {
    /** The state of this part; take it while the guest is paused. */
    S save();

    /**
     * Sets this part to {@code state}.
     *
     * @throws IllegalArgumentException the state is not one this part could have saved
     */
    void restore(S state);
}
