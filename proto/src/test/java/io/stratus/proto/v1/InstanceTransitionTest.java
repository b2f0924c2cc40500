package io.stratus.proto.v1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

/**
 * Every action from every state, over every task, against the tables the scheduler
 * ({@code ServerActions}, {@code ImageActions}, the conductor's moves) and the agent
 * ({@code CommandHandler}) each kept before they shared this one, written out here again.
 */
class InstanceTransitionTest {
    private static final Set<InstanceState> STATES = EnumSet.complementOf(
            EnumSet.of(InstanceState.INSTANCE_STATE_UNSPECIFIED, InstanceState.UNRECOGNIZED));
    private static final Set<TaskState> TASKS = EnumSet.complementOf(
            EnumSet.of(TaskState.TASK_STATE_UNSPECIFIED, TaskState.UNRECOGNIZED));
    private static final InstanceState ACTIVE = InstanceState.ACTIVE;
    private static final InstanceState SHUTOFF = InstanceState.SHUTOFF;
    private static final InstanceState PAUSED = InstanceState.PAUSED;
    private static final InstanceState ERROR = InstanceState.ERROR;
    private static final InstanceState VERIFY_RESIZE = InstanceState.VERIFY_RESIZE;

    /** Where each action is allowed at rest (task NONE), as Nova allows it. */
    private static final Map<InstanceTransition, Set<InstanceState>> ALLOWED = Map.ofEntries(
            Map.entry(InstanceTransition.STOP, EnumSet.of(ACTIVE, ERROR)),
            Map.entry(InstanceTransition.START, EnumSet.of(SHUTOFF)),
            Map.entry(InstanceTransition.REBOOT_SOFT, EnumSet.of(ACTIVE)),
            Map.entry(InstanceTransition.REBOOT_HARD, EnumSet.of(ACTIVE, SHUTOFF, PAUSED, ERROR)),
            Map.entry(InstanceTransition.PAUSE, EnumSet.of(ACTIVE)),
            Map.entry(InstanceTransition.UNPAUSE, EnumSet.of(PAUSED)),
            Map.entry(InstanceTransition.RESIZE, EnumSet.of(ACTIVE, SHUTOFF)),
            Map.entry(InstanceTransition.COLD_MOVE, EnumSet.of(ACTIVE, SHUTOFF)),
            Map.entry(InstanceTransition.CONFIRM_RESIZE, EnumSet.of(VERIFY_RESIZE)),
            Map.entry(InstanceTransition.REVERT_RESIZE, EnumSet.of(VERIFY_RESIZE)),
            Map.entry(InstanceTransition.REVERT_MOVE_SOURCE, EnumSet.noneOf(InstanceState.class)),
            Map.entry(InstanceTransition.REBUILD, EnumSet.of(ACTIVE, SHUTOFF, ERROR)),
            Map.entry(InstanceTransition.CREATE_IMAGE, EnumSet.of(ACTIVE, SHUTOFF, PAUSED)),
            Map.entry(InstanceTransition.LIVE_MIGRATE, EnumSet.of(ACTIVE)),
            Map.entry(InstanceTransition.DELETE, STATES));

    @Test
    void everyActionHasARow() {
        assertThat(ALLOWED.keySet()).containsExactlyInAnyOrder(InstanceTransition.values());
    }

    @Test
    void theApiStartsAnActionAtRestOnlyFromItsStates() {
        SoftAssertions soft = new SoftAssertions();
        for (InstanceTransition t : InstanceTransition.values()) {
            for (InstanceState s : STATES) {
                soft.assertThat(t.allows(s, TaskState.NONE)).as("%s from %s", t, s)
                        .isEqualTo(ALLOWED.get(t).contains(s));
            }
        }
        soft.assertAll();
    }

    @Test
    void theApiStartsNoActionOverAnotherTaskButDeleteAndTheMovesRevert() {
        SoftAssertions soft = new SoftAssertions();
        for (InstanceTransition t : InstanceTransition.values()) {
            for (InstanceState s : STATES) {
                for (TaskState task : EnumSet.complementOf(EnumSet.of(TaskState.NONE, TaskState.TASK_STATE_UNSPECIFIED,
                        TaskState.UNRECOGNIZED))) {
                    boolean expected = t == InstanceTransition.DELETE
                            || t == InstanceTransition.REVERT_MOVE_SOURCE && task == TaskState.RESIZE_MIGRATED;
                    soft.assertThat(t.allows(s, task)).as("%s from %s during %s", t, s, task).isEqualTo(expected);
                }
            }
        }
        soft.assertAll();
    }

    @Test
    void aHostTakesOtherRequestsAsTheApiDoes() {
        SoftAssertions soft = new SoftAssertions();
        for (InstanceTransition t : InstanceTransition.values()) {
            for (InstanceState s : STATES) {
                for (TaskState task : TASKS) {
                    soft.assertThat(t.acceptsOnHost(s, task, false)).as("%s from %s during %s", t, s, task)
                            .isEqualTo(t.allows(s, task));
                }
            }
        }
        soft.assertAll();
    }

    @Test
    void aHostTakesARedeliveredCommandFromItsStatesWhateverTheTask() {
        SoftAssertions soft = new SoftAssertions();
        for (InstanceTransition t : InstanceTransition.values()) {
            for (InstanceState s : STATES) {
                for (TaskState task : TASKS) {
                    boolean expected = ALLOWED.get(t).contains(s) || t.allows(s, task)
                            || t == InstanceTransition.REBUILD && s == InstanceState.REBUILD;
                    soft.assertThat(t.acceptsOnHost(s, task, true)).as("%s from %s during %s", t, s, task)
                            .isEqualTo(expected);
                }
            }
        }
        soft.assertAll();
    }

    @Test
    void onlyARebuildGoesOnFromTheStateItMovedTo() {
        for (InstanceTransition t : InstanceTransition.values()) {
            assertThat(t.resumesIn()).as("%s", t).isEqualTo(t == InstanceTransition.REBUILD
                    ? java.util.Optional.of(InstanceState.REBUILD) : java.util.Optional.empty());
        }
    }

    @Test
    void aMovesSourceRevertsFromWhateverStateItKept() {
        for (InstanceState s : STATES) {
            assertThat(InstanceTransition.REVERT_MOVE_SOURCE.allows(s, TaskState.RESIZE_MIGRATED)).isTrue();
            assertThat(InstanceTransition.REVERT_MOVE_SOURCE.leadsTo(s, false)).isEqualTo(s);
        }
    }

    @Test
    void eachActionEndsWhereBothSidesExpect() {
        SoftAssertions soft = new SoftAssertions();
        for (InstanceTransition t : InstanceTransition.values()) {
            for (InstanceState s : t.from()) {
                for (boolean runs : List.of(true, false)) {
                    InstanceState expected = switch (t) {
                        case STOP -> SHUTOFF;
                        case START, REBOOT_SOFT, REBOOT_HARD, UNPAUSE, LIVE_MIGRATE -> ACTIVE;
                        case PAUSE -> PAUSED;
                        case RESIZE, COLD_MOVE -> VERIFY_RESIZE;
                        case CONFIRM_RESIZE, REVERT_RESIZE -> runs ? ACTIVE : SHUTOFF;
                        case REBUILD -> s == SHUTOFF ? SHUTOFF : ACTIVE;
                        case CREATE_IMAGE, REVERT_MOVE_SOURCE -> s;
                        case DELETE -> InstanceState.DELETED;
                    };
                    soft.assertThat(t.leadsTo(s, runs)).as("%s from %s, guest runs: %s", t, s, runs)
                            .isEqualTo(expected);
                }
            }
        }
        soft.assertAll();
    }

    @Test
    void refusesAnEndStateFromAStateTheActionIsNotAllowedIn() {
        assertThatThrownBy(() -> InstanceTransition.START.leadsTo(ACTIVE, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("START");
    }

    @Test
    void eachStateCommandHasItsRow() {
        assertThat(row(CommandEnvelope.newBuilder().setStop(Stop.getDefaultInstance()), TaskState.NONE))
                .isEqualTo(InstanceTransition.STOP);
        assertThat(row(CommandEnvelope.newBuilder().setReboot(Reboot.newBuilder().setKind(Reboot.Kind.HARD)),
                TaskState.NONE)).isEqualTo(InstanceTransition.REBOOT_HARD);
        assertThat(row(CommandEnvelope.newBuilder().setReboot(Reboot.newBuilder().setKind(Reboot.Kind.SOFT)),
                TaskState.NONE)).isEqualTo(InstanceTransition.REBOOT_SOFT);
        assertThat(row(CommandEnvelope.newBuilder().setMigrateDisk(MigrateDisk.getDefaultInstance()), TaskState.NONE))
                .isEqualTo(InstanceTransition.COLD_MOVE);
        assertThat(row(CommandEnvelope.newBuilder().setRevertResize(RevertResize.getDefaultInstance()),
                TaskState.NONE)).isEqualTo(InstanceTransition.REVERT_RESIZE);
        assertThat(row(CommandEnvelope.newBuilder().setRevertResize(RevertResize.getDefaultInstance()),
                TaskState.RESIZE_MIGRATED)).isEqualTo(InstanceTransition.REVERT_MOVE_SOURCE);
        assertThat(InstanceTransition.of(CommandEnvelope.newBuilder().setBoot(Boot.getDefaultInstance()).build(),
                TaskState.NONE)).isEmpty();
        assertThat(InstanceTransition.of(CommandEnvelope.newBuilder().setAbortMigration(
                AbortMigration.getDefaultInstance()).build(), TaskState.NONE)).isEmpty();
    }

    @Test
    void listsItsStatesInTheContractsOrder() {
        assertThat(InstanceTransition.REBOOT_HARD.from().toString()).isEqualTo("[ACTIVE, SHUTOFF, PAUSED, ERROR]");
        assertThat(InstanceTransition.REBOOT_HARD.fromStates()).containsExactly(ACTIVE, SHUTOFF, PAUSED, ERROR);
    }

    private static InstanceTransition row(CommandEnvelope.Builder env, TaskState task) {
        return InstanceTransition.of(env.build(), task).orElseThrow();
    }
}
