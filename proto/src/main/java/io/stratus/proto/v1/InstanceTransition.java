package io.stratus.proto.v1;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * The instance state machine both sides of the contract follow: for each action on an instance,
 * the {@link InstanceState}s it is allowed from, the {@link TaskState} it starts, the state the
 * instance is in while it runs, and the state it ends in where that does not depend on the guest.
 * The scheduler checks {@link #allows} before it starts a task (Nova's
 * {@code @check_instance_state}); the agent checks {@link #acceptsOnHost} before it applies a command.
 *
 * <p>The two checks differ on purpose, and only in what the host must tolerate: delivery is
 * at-least-once, so a host takes a command again when the instance's pending request is that very
 * command (its agent died in the middle), whatever task is recorded; and a rebuild redelivered
 * after it changed the state to REBUILD goes on from there ({@link #resumesIn()}). The API never
 * starts a task over another one.
 *
 * <p>A Java table beside the generated types rather than options in the {@code .proto} files:
 * custom options would be new published numbers read back through descriptors at run time, and
 * the rows would lose the compiler's checks (exhaustive switches, typed sets).
 */
public enum InstanceTransition {
    /** Nova's os-stop: the guest stops (from ERROR too, which it leaves behind). */
    STOP("os-stop", TaskState.POWERING_OFF, states(InstanceState.ACTIVE, InstanceState.ERROR), null,
            InstanceState.SHUTOFF),
    START("os-start", TaskState.POWERING_ON, states(InstanceState.SHUTOFF), null, InstanceState.ACTIVE),
    /** A soft reboot needs a guest that answers: from ACTIVE only. */
    REBOOT_SOFT("reboot", TaskState.REBOOTING, states(InstanceState.ACTIVE), InstanceState.REBOOT,
            InstanceState.ACTIVE),
    REBOOT_HARD("reboot", TaskState.REBOOTING_HARD, states(InstanceState.ACTIVE, InstanceState.SHUTOFF,
            InstanceState.PAUSED, InstanceState.ERROR), InstanceState.REBOOT, InstanceState.ACTIVE),
    PAUSE("pause", TaskState.PAUSING, states(InstanceState.ACTIVE), null, InstanceState.PAUSED),
    UNPAUSE("unpause", TaskState.UNPAUSING, states(InstanceState.PAUSED), null, InstanceState.ACTIVE),
    /** A resize on the instance's own host; it then waits in VERIFY_RESIZE. */
    RESIZE("resize", TaskState.RESIZE_PREP, states(InstanceState.ACTIVE, InstanceState.SHUTOFF),
            InstanceState.RESIZE, InstanceState.VERIFY_RESIZE),
    /**
     * A cold move (migrate, or a resize its host has no room for), on its source: the disk goes
     * to the target, where the instance then waits in VERIFY_RESIZE; the source keeps its copy,
     * in the state it had, with task RESIZE_MIGRATED until the move is confirmed or reverted.
     */
    COLD_MOVE("migrate", TaskState.RESIZE_MIGRATING, states(InstanceState.ACTIVE, InstanceState.SHUTOFF),
            InstanceState.RESIZE, InstanceState.VERIFY_RESIZE),
    /** Keeps the new size: ACTIVE or SHUTOFF after, as the guest runs or not. */
    CONFIRM_RESIZE("confirmResize", TaskState.RESIZE_CONFIRMING, states(InstanceState.VERIFY_RESIZE), null, null),
    /** Back to the old size: ACTIVE or SHUTOFF after, as the guest ran or not. */
    REVERT_RESIZE("revertResize", TaskState.RESIZE_REVERTING, states(InstanceState.VERIFY_RESIZE), null, null),
    /**
     * A host's part of a reverted cold move on the move's source, which kept the instance (task
     * RESIZE_MIGRATED) in the state it had before the move; it runs there again as it was. The
     * API's check is {@link #REVERT_RESIZE}'s, on the server (which is VERIFY_RESIZE on the target).
     */
    REVERT_MOVE_SOURCE("revertResize", TaskState.RESIZE_REVERTING, anyState(),
            EnumSet.of(TaskState.RESIZE_MIGRATED), null, null),
    /** Nova's rebuild: SHUTOFF stays SHUTOFF, the others run after. */
    REBUILD("rebuild", TaskState.REBUILDING, states(InstanceState.ACTIVE, InstanceState.SHUTOFF,
            InstanceState.ERROR), InstanceState.REBUILD, null),
    /** Nova's createImage (snapshot): the instance keeps its state. */
    CREATE_IMAGE("createImage", TaskState.IMAGE_SNAPSHOT, states(InstanceState.ACTIVE, InstanceState.SHUTOFF,
            InstanceState.PAUSED), null, null),
    LIVE_MIGRATE("os-migrateLive", TaskState.MIGRATING_LIVE, states(InstanceState.ACTIVE), null,
            InstanceState.ACTIVE),
    /** Delete wins over everything: from every state, over every task. */
    DELETE("delete", TaskState.DELETING, anyState(), EnumSet.complementOf(EnumSet.of(TaskState.TASK_STATE_UNSPECIFIED,
            TaskState.UNRECOGNIZED)), null, InstanceState.DELETED);

    private final String apiName;
    private final TaskState task;
    private final Set<InstanceState> from;
    private final Set<TaskState> over;
    private final Optional<InstanceState> during;
    private final Optional<InstanceState> leadsTo;

    InstanceTransition(String apiName, TaskState task, Set<InstanceState> from, InstanceState during,
                       InstanceState leadsTo) {
        this(apiName, task, from, EnumSet.of(TaskState.NONE), during, leadsTo);
    }

    InstanceTransition(String apiName, TaskState task, Set<InstanceState> from, Set<TaskState> over,
                       InstanceState during, InstanceState leadsTo) {
        this.apiName = apiName;
        this.task = task;
        this.from = Collections.unmodifiableSet(EnumSet.copyOf(from));
        this.over = Collections.unmodifiableSet(EnumSet.copyOf(over));
        this.during = Optional.ofNullable(during);
        this.leadsTo = Optional.ofNullable(leadsTo);
    }

    /** Nova's name of the action, as the API's refusals name it. */
    public String apiName() {
        return apiName;
    }

    /** The task the action starts. */
    public TaskState task() {
        return task;
    }

    /** The states the action is allowed from (in the enum's order, as refusals list them). */
    public Set<InstanceState> from() {
        return from;
    }

    /** {@link #from()} as an array, for callers that take the states as varargs. */
    public InstanceState[] fromStates() {
        return from.toArray(InstanceState[]::new);
    }

    /** The tasks that may be recorded when the action starts: NONE, but for delete and a move's revert. */
    public Set<TaskState> over() {
        return over;
    }

    /** The state while the action runs, when it is not the state it started from. */
    public Optional<InstanceState> during() {
        return during;
    }

    /**
     * The state a redelivered command goes on from besides {@link #from()}: the rebuild's only,
     * whose host code picks up where it was after its agent died (the other actions' hosts refuse
     * a command whose instance has left the states it started from).
     */
    public Optional<InstanceState> resumesIn() {
        return this == REBUILD ? during : Optional.empty();
    }

    /** The API's check (Nova's {@code @check_instance_state}): may the action start now? */
    public boolean allows(InstanceState state, TaskState current) {
        return from.contains(state) && over.contains(current);
    }

    /**
     * The host's check: the API's, or, for a command redelivered while the instance's pending
     * request is this very command, a state it started from (or goes on from) whatever the task.
     * A row that starts over one given task only (a move source's revert) has no such second
     * chance: that task is what picks the row.
     */
    public boolean acceptsOnHost(InstanceState state, TaskState current, boolean ownRequestPending) {
        return allows(state, current) || ownRequestPending && over.contains(TaskState.NONE)
                && (from.contains(state) || resumesIn().filter(state::equals).isPresent());
    }

    /**
     * The state the action ends in when it succeeds, from {@code before} (the state it started
     * from); {@code guestRuns}: whether the guest runs at the end (confirm and revert of a resize
     * keep the guest as it was).
     *
     * @throws IllegalArgumentException the action is not allowed from {@code before}
     */
    public InstanceState leadsTo(InstanceState before, boolean guestRuns) {
        if (!from.contains(before)) {
            throw new IllegalArgumentException(name() + " is not allowed from " + before);
        }
        if (leadsTo.isPresent()) {
            return leadsTo.get();
        }
        return switch (this) {
            case CONFIRM_RESIZE, REVERT_RESIZE -> guestRuns ? InstanceState.ACTIVE : InstanceState.SHUTOFF;
            case REBUILD -> before == InstanceState.SHUTOFF ? InstanceState.SHUTOFF : InstanceState.ACTIVE;
            case CREATE_IMAGE, REVERT_MOVE_SOURCE -> before;
            default -> throw new IllegalStateException(name() + " has no end state in the table");
        };
    }

    /**
     * The row for a command a host applies to an instance it has ({@code current}: the instance's
     * task now, which tells a move's source from its target); empty for the commands that create
     * or move an instance without a state check (boot, a migration target's preparation, abort).
     */
    public static Optional<InstanceTransition> of(CommandEnvelope env, TaskState current) {
        return Optional.ofNullable(switch (env.getCommandCase()) {
            case STOP -> STOP;
            case START -> START;
            case REBOOT -> env.getReboot().getKind() == Reboot.Kind.HARD ? REBOOT_HARD : REBOOT_SOFT;
            case PAUSE -> PAUSE;
            case UNPAUSE -> UNPAUSE;
            case RESIZE -> RESIZE;
            case MIGRATE_DISK -> COLD_MOVE;
            case CONFIRM_RESIZE -> CONFIRM_RESIZE;
            case REVERT_RESIZE -> current == TaskState.RESIZE_MIGRATED ? REVERT_MOVE_SOURCE : REVERT_RESIZE;
            case REBUILD -> REBUILD;
            case CREATE_IMAGE -> CREATE_IMAGE;
            case LIVE_MIGRATE -> LIVE_MIGRATE;
            case DELETE -> DELETE;
            // A volume's attach and detach change no instance state (Nova sets no task for them);
            // the volume's own status tracks them.
            case BOOT, PREPARE_MIGRATION_TARGET, ABORT_MIGRATION, ATTACH_VOLUME, DETACH_VOLUME,
                    COMMAND_NOT_SET -> null;
        });
    }

    private static Set<InstanceState> states(InstanceState... states) {
        return EnumSet.of(states[0], states);
    }

    /** Every state an instance can be in, DELETED too (a host refuses commands for those before it looks here). */
    private static Set<InstanceState> anyState() {
        return EnumSet.complementOf(EnumSet.of(InstanceState.INSTANCE_STATE_UNSPECIFIED, InstanceState.UNRECOGNIZED));
    }
}
