package io.stratus.kvm.vm;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Where a {@link VirtualMachine} is in its life, and the moves it may make: one table (Cloud
 * Hypervisor's {@code VmState::valid_transition}), checked on every move, in place of an enum
 * and flags set apart. A move the table does not list is a bug in the VMM, not a user error:
 * {@link VirtualMachine} checks what a caller asks for first and answers with its own message.
 *
 * <p>Not synchronized: the VM moves it under its own lock; {@link #phase()} may be read anywhere.
 */
final class Lifecycle {
    /** The phases; {@link #HELD} is the one the public {@link VirtualMachine.State} does not show apart. */
    enum Phase {
        /** Built; no vCPU thread yet. */
        CREATED(VirtualMachine.State.CREATED),
        /**
         * vCPU threads started but held before the guest ever ran here ({@link VirtualMachine#startHeld()}):
         * shown as PAUSED; a migration's state may still be restored into it.
         */
        HELD(VirtualMachine.State.PAUSED),
        RUNNING(VirtualMachine.State.RUNNING),
        /** vCPUs out of the guest and waiting, devices quiesced. */
        PAUSED(VirtualMachine.State.PAUSED),
        /** The run ended and every vCPU has left the guest. */
        EXITED(VirtualMachine.State.EXITED),
        /** Every host resource freed. */
        CLOSED(VirtualMachine.State.CLOSED);

        private final VirtualMachine.State shown;

        Phase(VirtualMachine.State shown) {
            this.shown = shown;
        }
    }

    private static final Map<Phase, Set<Phase>> MOVES = new EnumMap<>(Phase.class);

    static {
        // start() / startHeld(); release() of a VM that never started (or failed to assemble).
        MOVES.put(Phase.CREATED, EnumSet.of(Phase.RUNNING, Phase.HELD, Phase.CLOSED));
        // resume() lets it into the guest; a stop before that ends the run.
        MOVES.put(Phase.HELD, EnumSet.of(Phase.RUNNING, Phase.EXITED));
        MOVES.put(Phase.RUNNING, EnumSet.of(Phase.PAUSED, Phase.EXITED));
        MOVES.put(Phase.PAUSED, EnumSet.of(Phase.RUNNING, Phase.EXITED));
        MOVES.put(Phase.EXITED, EnumSet.of(Phase.CLOSED));
        MOVES.put(Phase.CLOSED, EnumSet.noneOf(Phase.class));
    }

    private final String vmName;
    private volatile Phase phase = Phase.CREATED;

    Lifecycle(String vmName) {
        this.vmName = vmName;
    }

    Phase phase() {
        return phase;
    }

    /** The phase as {@link VirtualMachine#state()} shows it. */
    VirtualMachine.State state() {
        return phase.shown;
    }

    static boolean allowed(Phase from, Phase to) {
        return MOVES.get(from).contains(to);
    }

    /**
     * Moves to {@code to}.
     *
     * @throws IllegalStateException the table has no such move from the current phase
     */
    void move(Phase to) {
        Phase from = phase;
        if (!allowed(from, to)) {
            throw new IllegalStateException("VM " + vmName + " cannot go from " + from + " to " + to);
        }
        phase = to;
    }
}
