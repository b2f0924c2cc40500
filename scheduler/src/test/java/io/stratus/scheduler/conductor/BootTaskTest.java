package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A boot's placement, its host's failure (a reschedule) and its rollback, without a message bus or guests. */
class BootTaskTest {
    private final ConductorFixture f = new ConductorFixture();

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void aWaitingServerIsPlacedOnTheRoomiestHostAndItsBootSent() {
        f.host("h1", 2048);
        f.host("h2", 8192);
        Server s = f.waiting();

        f.conductor.schedule(s.id());

        assertThat(f.sent()).containsExactly("h2:BOOT");
        assertThat(f.sender.sent.get(0).command().getRequestId()).isEqualTo(s.requestId());
        Server now = f.now(s);
        assertThat(now.host()).contains("h2");
        assertThat(now.triedHosts()).containsExactly("h2");
        assertThat(f.vcpusUsed("h2")).isEqualTo(1);
    }

    @Test
    void aBootThatFailsOnItsHostIsPlacedOnAnotherAndTheFirstCleanedUp() {
        f.host("h1", 2048);
        f.host("h2", 8192);
        Server s = f.waiting();
        f.conductor.schedule(s.id());

        f.conductor.onEvent(f.event(s, "h2", InstanceState.ERROR)
                .setFault(ConductorFixture.fault("BootFailed", "no kernel")).build());

        assertThat(f.sent()).containsExactly("h2:BOOT", "h2:DELETE", "h1:BOOT");
        Server now = f.now(s);
        assertThat(now.host()).contains("h1");
        assertThat(now.triedHosts()).containsExactly("h2", "h1");
        assertThat(f.vcpusUsed("h2")).isZero();
        assertThat(f.vcpusUsed("h1")).isEqualTo(1);
    }

    @Test
    void noHostWithRoomLeavesTheServerInErrorWithNovasFault() {
        f.host("tiny", 256);
        Server s = f.waiting();

        f.conductor.schedule(s.id());

        Server now = f.now(s);
        assertThat(now.vmState()).isEqualTo(InstanceState.ERROR);
        assertThat(now.fault()).map(Server.Fault::code).contains("NoValidHost");
        assertThat(now.fault().orElseThrow().message()).startsWith("No valid host was found.");
        assertThat(f.sent()).isEmpty();
    }

    @Test
    void aBootTheBusDoesNotTakeGivesItsClaimBack() {
        f.host("h1", 4096);
        f.sender.unreachable.add("h1");
        Server s = f.waiting();

        f.conductor.schedule(s.id());

        Server now = f.now(s);
        assertThat(now.vmState()).isEqualTo(InstanceState.ERROR);
        assertThat(now.fault()).map(Server.Fault::code).contains("DispatchFailed");
        assertThat(f.vcpusUsed("h1")).isZero();
    }

    @Test
    void aBootWhoseHostWentSilentIsPlacedElsewhere() {
        f.host("h1", 2048);
        f.host("h2", 8192);
        Server s = f.waiting();
        f.conductor.schedule(s.id());
        f.clock.advance(ConductorFixture.TASK_TIMEOUT.plus(Duration.ofSeconds(1)));

        f.parts.sweeper().sweep();

        Server now = f.now(s);
        assertThat(now.host()).contains("h1");
        assertThat(now.taskState()).isNotEqualTo(TaskState.NONE);
        assertThat(f.vcpusUsed("h2")).isZero();
    }
}
