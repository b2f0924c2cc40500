package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.ProtoTime;
import io.stratus.proto.v1.WatchdogAction;
import io.stratus.scheduler.compute.InstanceAction;
import io.stratus.scheduler.compute.Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A watchdog firing that a host reports becomes an instance action of its server, once. */
class GuestActionsTest {
    private final ConductorFixture f = new ConductorFixture();

    @AfterEach
    void close() {
        f.close();
    }

    private InstanceEvent fired(Server s, String host, InstanceState state, WatchdogAction action) {
        return f.event(s, host, state).setRequestId("").setWatchdogFired(action)
                .setPowerState(state == InstanceState.PAUSED ? PowerState.POWER_PAUSED : PowerState.POWER_RUNNING)
                .setOccurredAt(ProtoTime.timestamp(f.clock.instant())).build();
    }

    @Test
    void aFiringIsListedAsAWatchdogActionWithWhatTheHostDid() {
        f.host("h1", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);

        f.conductor.onEvent(fired(s, "h1", InstanceState.PAUSED, WatchdogAction.WATCHDOG_PAUSE));

        assertThat(f.now(s).vmState()).isEqualTo(InstanceState.PAUSED);
        assertThat(f.actions.of(s.id())).singleElement().satisfies(a -> {
            assertThat(a.action()).isEqualTo("watchdog");
            assertThat(a.projectId()).isEqualTo(s.projectId());
            assertThat(a.message()).contains("the guest's watchdog fired on host h1; action: pause");
        });
    }

    @Test
    void anEventReadTwiceIsOneAction() {
        f.host("h1", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);
        InstanceEvent e = fired(s, "h1", InstanceState.ACTIVE, WatchdogAction.WATCHDOG_RESET);

        f.conductor.onEvent(e);
        f.conductor.onEvent(e);

        assertThat(f.actions.of(s.id())).extracting(InstanceAction::message)
                .containsExactly(java.util.Optional.of("the guest's watchdog fired on host h1; action: reset"));
    }

    @Test
    void aFiringOnAHostTheServerLeftIsNotItsAction() {
        f.host("h1", 4096);
        f.host("h2", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);

        f.conductor.onEvent(fired(s, "h2", InstanceState.ACTIVE, WatchdogAction.WATCHDOG_RESET));

        assertThat(f.actions.of(s.id())).isEmpty();
    }

    @Test
    void anEventWithoutAFiringIsNoAction() {
        f.host("h1", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);

        f.conductor.onEvent(f.event(s, "h1", InstanceState.ACTIVE).setRequestId("").build());

        assertThat(f.actions.of(s.id())).isEmpty();
    }
}
