package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.exception.InstanceInvalidState;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The states each server action starts from (Nova's {@code check_instance_state} on each API
 * method): every action from every settled state, allowed or refused with
 * {@link InstanceInvalidState} naming the state, and nothing sent when refused.
 */
class StateCheckTest {
    private static final List<InstanceState> STATES = List.of(InstanceState.ACTIVE, InstanceState.SHUTOFF,
            InstanceState.PAUSED, InstanceState.ERROR, InstanceState.VERIFY_RESIZE);

    private record Action(String name, BiConsumer<ServerActions, Server> call, Set<InstanceState> from) {
    }

    private static final List<Action> TABLE = List.of(
            new Action("os-stop", ServerActions::stop, EnumSet.of(InstanceState.ACTIVE, InstanceState.ERROR)),
            new Action("os-start", ServerActions::start, EnumSet.of(InstanceState.SHUTOFF)),
            new Action("reboot", (a, s) -> a.reboot(s, false), EnumSet.of(InstanceState.ACTIVE)),
            new Action("reboot", (a, s) -> a.reboot(s, true), EnumSet.of(InstanceState.ACTIVE,
                    InstanceState.SHUTOFF, InstanceState.PAUSED, InstanceState.ERROR)),
            new Action("pause", ServerActions::pause, EnumSet.of(InstanceState.ACTIVE)),
            new Action("unpause", ServerActions::unpause, EnumSet.of(InstanceState.PAUSED)),
            new Action("resize", (a, s) -> a.resize(s, ConductorFixture.LARGE), EnumSet.of(InstanceState.ACTIVE,
                    InstanceState.SHUTOFF)),
            new Action("revertResize", ServerActions::revertResize, EnumSet.of(InstanceState.VERIFY_RESIZE)),
            new Action("confirmResize", (a, s) -> a.confirmResize(s, ConductorFixture.LARGE),
                    EnumSet.of(InstanceState.VERIFY_RESIZE)));

    private final ConductorFixture f = new ConductorFixture();

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void eachActionStartsOnlyFromTheStatesNovaAllowsIt() {
        f.host("h1", 65536, 128);
        ServerActions actions = f.actions();
        for (Action action : TABLE) {
            for (InstanceState state : STATES) {
                Server s = f.server("h1", state);
                int sentBefore = f.sender.sent.size();
                String what = action.name() + " from " + state;
                if (action.from().contains(state)) {
                    action.call().accept(actions, s);
                    assertThat(f.sender.sent.size()).as(what).isEqualTo(sentBefore + 1);
                    assertThat(f.now(s).taskState()).as(what).isNotEqualTo(TaskState.NONE);
                } else {
                    assertThatThrownBy(() -> action.call().accept(actions, s)).as(what)
                            .isInstanceOf(InstanceInvalidState.class)
                            .hasMessage("Cannot '" + action.name() + "' instance " + s.id() + " while it is in"
                                    + " vm_state " + state.name().toLowerCase());
                    assertThat(f.sender.sent.size()).as(what).isEqualTo(sentBefore);
                    assertThat(f.now(s).taskState()).as(what).isEqualTo(TaskState.NONE);
                }
            }
        }
    }

    @Test
    void noActionStartsWhileAnotherTaskRuns() {
        f.host("h1", 65536);
        ServerActions actions = f.actions();
        Server s = f.server("h1", InstanceState.ACTIVE);
        actions.pause(s);

        assertThatThrownBy(() -> actions.stop(s)).isInstanceOf(InstanceInvalidState.class)
                .hasMessage("Cannot 'os-stop' instance " + s.id() + " while it is in vm_state active and"
                        + " task_state pausing");
        assertThat(f.sent()).containsExactly("h1:PAUSE");
    }
}
