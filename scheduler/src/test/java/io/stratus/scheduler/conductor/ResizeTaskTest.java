package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.exception.InstanceInvalidState;
import io.stratus.scheduler.exception.InvalidRequest;
import io.stratus.scheduler.exception.ServiceUnavailable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A resize on the server's host: its start, its host's answers and its rollback. */
class ResizeTaskTest {
    private final ConductorFixture f = new ConductorFixture();

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void startClaimsTheNewSizeNextToTheOldOnTheSameHost() {
        f.host("h1", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);

        f.conductor.resize(s, ConductorFixture.LARGE);

        assertThat(f.sent()).containsExactly("h1:RESIZE");
        assertThat(f.sender.sent.get(0).command().getResize().getResources().getVcpus()).isEqualTo(2);
        assertThat(f.vcpusUsed("h1")).as("old and new size").isEqualTo(3);
        Server now = f.now(s);
        assertThat(now.taskState()).isEqualTo(TaskState.RESIZE_PREP);
        assertThat(now.pendingFlavorId()).contains(ConductorFixture.LARGE.id());
        assertThat(f.migration(s).sourceHost()).isEqualTo("h1");
        assertThat(f.migration(s).destHost()).isEqualTo("h1");
    }

    @Test
    void theHostsRefusalRollsBackTheNewSize() {
        f.host("h1", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);
        f.conductor.resize(s, ConductorFixture.LARGE);

        f.conductor.onEvent(f.event(s, "h1", InstanceState.ACTIVE)
                .setFault(ConductorFixture.fault("ResizeError", "the guest cannot grow")).build());

        Server now = f.now(s);
        assertThat(now.pendingFlavorId()).isEmpty();
        assertThat(now.taskState()).isEqualTo(TaskState.NONE);
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.ERROR);
        assertThat(f.vcpusUsed("h1")).isEqualTo(1);
    }

    @Test
    void theHostsWordThatItIsDoneWaitsForConfirm() {
        f.host("h1", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);
        f.conductor.resize(s, ConductorFixture.LARGE);

        f.conductor.onEvent(f.event(s, "h1", InstanceState.VERIFY_RESIZE).build());

        assertThat(f.now(s).vmState()).isEqualTo(InstanceState.VERIFY_RESIZE);
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.FINISHED);
        assertThat(f.vcpusUsed("h1")).isEqualTo(3);
    }

    @Test
    void aHostWithoutRoomMovesTheServerToOneWithIt() {
        f.host("small", 1024);
        f.host("big", 8192);
        Server s = f.server("small", InstanceState.ACTIVE);

        f.conductor.resize(s, ConductorFixture.LARGE);

        assertThat(f.sent()).containsExactly("big:PREPARE_MIGRATION_TARGET", "small:MIGRATE_DISK");
        assertThat(f.now(s).taskState()).isEqualTo(TaskState.RESIZE_MIGRATING);
        assertThat(f.vcpusUsed("small")).as("no claim of the new size left behind").isEqualTo(1);
    }

    @Test
    void aCommandTheBusDoesNotTakeRollsBackAndRefusesWithUnavailable() {
        f.host("h1", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);
        f.sender.unreachable.add("h1");

        assertThatThrownBy(() -> f.conductor.resize(s, ConductorFixture.LARGE))
                .isInstanceOf(ServiceUnavailable.class)
                .hasMessageStartingWith("'resize' could not be handed to host h1; try again: ");

        Server now = f.now(s);
        assertThat(now.pendingFlavorId()).isEmpty();
        assertThat(now.taskState()).isEqualTo(TaskState.NONE);
        assertThat(now.fault()).map(Server.Fault::code).contains("DispatchFailed");
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.ERROR);
        assertThat(f.vcpusUsed("h1")).isEqualTo(1);
    }

    @Test
    void aStateThatDoesNotAllowItGivesTheClaimBack() {
        f.host("h1", 4096);
        Server s = f.server("h1", InstanceState.PAUSED);

        assertThatThrownBy(() -> f.conductor.resize(s, ConductorFixture.LARGE))
                .isInstanceOf(InstanceInvalidState.class)
                .hasMessage("Cannot 'resize' instance " + s.id() + " while it is in vm_state paused");
        assertThat(f.vcpusUsed("h1")).isEqualTo(1);
        assertThat(f.now(s).pendingFlavorId()).isEmpty();
        assertThat(f.sent()).isEmpty();
    }

    @Test
    void theSameFlavorIsNoResize() {
        f.host("h1", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);

        assertThatThrownBy(() -> f.conductor.resize(s, ConductorFixture.SMALL)).isInstanceOf(InvalidRequest.class)
                .hasMessage("the server already has flavor m1.small; resize to another one");
    }
}
