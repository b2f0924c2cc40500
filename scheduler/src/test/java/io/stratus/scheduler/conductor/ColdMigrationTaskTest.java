package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.exception.InstanceInvalidState;
import io.stratus.scheduler.exception.ServiceUnavailable;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A cold move's start, its hosts' events and its rollback, without a message bus or guests. */
class ColdMigrationTaskTest {
    private final ConductorFixture f = new ConductorFixture();

    @AfterEach
    void close() {
        f.close();
    }

    private Server onSource(InstanceState state) {
        f.host("src", 4096);
        f.host("dst", 8192);
        return f.server("src", state);
    }

    @Test
    void startClaimsTheNewSizeOnTheTargetAndHasTheSourceSendTheDisk() {
        Server s = onSource(InstanceState.SHUTOFF);

        assertThat(f.conductor.coldMove(s, "resize", ConductorFixture.LARGE, Optional.empty())).isEqualTo("dst");

        assertThat(f.sent()).containsExactly("dst:PREPARE_MIGRATION_TARGET", "src:MIGRATE_DISK");
        assertThat(f.sender.sent.get(0).command().getPrepareMigrationTarget().getCold()).isTrue();
        assertThat(f.sender.sent.get(0).command().getPrepareMigrationTarget().getStart())
                .as("a stopped server stays stopped").isFalse();
        Server now = f.now(s);
        assertThat(now.taskState()).isEqualTo(TaskState.RESIZE_MIGRATING);
        assertThat(now.pendingFlavorId()).contains(ConductorFixture.LARGE.id());
        assertThat(f.migration(s).type()).isEqualTo(Migration.Type.RESIZE);
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.MIGRATING);
        assertThat(f.vcpusUsed("dst")).isEqualTo(ConductorFixture.LARGE.vcpus());
    }

    @Test
    void theTargetsWordMakesItTheServersHostWaitingForConfirmWithTheSourceKept() {
        Server s = onSource(InstanceState.ACTIVE);
        f.conductor.coldMove(s, "migrate", ConductorFixture.SMALL, Optional.empty());

        f.conductor.onEvent(f.moveEvent(s, "dst", InstanceState.VERIFY_RESIZE).build());

        Server moved = f.now(s);
        assertThat(moved.host()).contains("dst");
        assertThat(moved.sourceHost()).contains("src");
        assertThat(moved.vmState()).isEqualTo(InstanceState.VERIFY_RESIZE);
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.FINISHED);
        assertThat(f.vcpusUsed("src")).as("held until confirm").isEqualTo(1);
        assertThat(f.vcpusUsed("dst")).isEqualTo(1);
    }

    @Test
    void theSourcesFailureRollsBackTheClaimAndThePendingSize() {
        Server s = onSource(InstanceState.ACTIVE);
        f.conductor.coldMove(s, "resize", ConductorFixture.LARGE, Optional.empty());

        f.conductor.onEvent(f.moveEvent(s, "src", InstanceState.ACTIVE)
                .setFault(ConductorFixture.fault("MigrationFailed", "disk copy broke off")).build());

        Server stayed = f.now(s);
        assertThat(stayed.host()).contains("src");
        assertThat(stayed.pendingFlavorId()).isEmpty();
        assertThat(stayed.taskState()).isEqualTo(TaskState.NONE);
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.ERROR);
        assertThat(f.migration(s).fault()).map(Server.Fault::message).contains("disk copy broke off");
        assertThat(f.vcpusUsed("dst")).isZero();
    }

    @Test
    void aCommandTheBusDoesNotTakeRollsBackAndRefusesWithUnavailable() {
        Server s = onSource(InstanceState.ACTIVE);
        f.sender.unreachable.add("dst");

        assertThatThrownBy(() -> f.conductor.coldMove(s, "resize", ConductorFixture.LARGE, Optional.empty()))
                .isInstanceOf(ServiceUnavailable.class);

        Server now = f.now(s);
        assertThat(now.taskState()).isEqualTo(TaskState.NONE);
        assertThat(now.pendingFlavorId()).isEmpty();
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.ERROR);
        assertThat(f.vcpusUsed("dst")).isZero();
    }

    @Test
    void aMoveItsHostsLeaveSilentIsAbortedAndRolledBack() {
        Server s = onSource(InstanceState.ACTIVE);
        f.conductor.coldMove(s, "resize", ConductorFixture.LARGE, Optional.empty());
        f.clock.advance(ConductorFixture.TASK_TIMEOUT.plus(Duration.ofSeconds(1)));

        f.parts.sweeper().sweep();

        assertThat(f.sent()).as("both ends stop the move").endsWith("src:ABORT_MIGRATION", "dst:ABORT_MIGRATION");
        Server now = f.now(s);
        assertThat(now.taskState()).isEqualTo(TaskState.NONE);
        assertThat(now.pendingFlavorId()).isEmpty();
        assertThat(now.fault()).map(Server.Fault::code).contains("TaskTimedOut");
        assertThat(f.vcpusUsed("dst")).isZero();
    }

    @Test
    void onlyAnActiveOrStoppedServerWithoutATaskMoves() {
        f.host("src", 4096);
        f.host("dst", 8192);
        Server paused = f.server("src", InstanceState.PAUSED);

        assertThatThrownBy(() -> f.conductor.coldMove(paused, "migrate", ConductorFixture.SMALL, Optional.empty()))
                .isInstanceOf(InstanceInvalidState.class)
                .hasMessage("Cannot 'migrate' instance " + paused.id() + " while it is in vm_state paused;"
                        + " it must be ACTIVE or SHUTOFF");
        assertThat(f.sent()).isEmpty();
    }
}
