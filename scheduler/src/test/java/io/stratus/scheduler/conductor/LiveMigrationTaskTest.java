package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.proto.v1.CommandEnvelope;
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

/** A live migration's start, its hosts' events and its rollback, without a message bus or guests. */
class LiveMigrationTaskTest {
    private final ConductorFixture f = new ConductorFixture();

    @AfterEach
    void close() {
        f.close();
    }

    private Server activeOnSource() {
        f.host("src", 4096);
        f.host("dst", 8192);
        return f.server("src", InstanceState.ACTIVE);
    }

    @Test
    void startClaimsTheTargetAndTellsBothHostsOneToken() {
        Server s = activeOnSource();

        assertThat(f.conductor.liveMigrate(s, Optional.empty(), 0)).isEqualTo("dst");

        assertThat(f.sent()).containsExactly("dst:PREPARE_MIGRATION_TARGET", "src:LIVE_MIGRATE");
        CommandEnvelope prepare = f.sender.sent.get(0).command();
        CommandEnvelope send = f.sender.sent.get(1).command();
        assertThat(prepare.getPrepareMigrationTarget().getToken()).isNotEmpty()
                .isEqualTo(send.getLiveMigrate().getToken());
        assertThat(send.getLiveMigrate().getTargetAddress()).isEqualTo("dst:7070");
        assertThat(f.now(s).taskState()).isEqualTo(TaskState.MIGRATING_LIVE);
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.RUNNING);
        assertThat(f.vcpusUsed("src")).isEqualTo(1);
        assertThat(f.vcpusUsed("dst")).as("the target's claim, next to the source's").isEqualTo(1);
    }

    @Test
    void theTargetsWordThatTheGuestArrivedMovesTheServerAndItsClaim() {
        Server s = activeOnSource();
        f.conductor.liveMigrate(s, Optional.empty(), 0);

        f.conductor.onEvent(f.moveEvent(s, "dst", InstanceState.ACTIVE).build());

        Server moved = f.now(s);
        assertThat(moved.host()).contains("dst");
        assertThat(moved.taskState()).isEqualTo(TaskState.NONE);
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.COMPLETED);
        assertThat(f.vcpusUsed("src")).isZero();
        assertThat(f.vcpusUsed("dst")).isEqualTo(1);
    }

    @Test
    void theSourcesFailureRollsBackTheTargetsClaimAndTheGuestStays() {
        Server s = activeOnSource();
        f.conductor.liveMigrate(s, Optional.empty(), 0);

        f.conductor.onEvent(f.moveEvent(s, "src", InstanceState.ACTIVE)
                .setFault(ConductorFixture.fault("MigrationFailed", "the target stopped answering")).build());

        Server stayed = f.now(s);
        assertThat(stayed.host()).contains("src");
        assertThat(stayed.vmState()).isEqualTo(InstanceState.ACTIVE);
        assertThat(stayed.taskState()).isEqualTo(TaskState.NONE);
        Migration m = f.migration(s);
        assertThat(m.status()).isEqualTo(Migration.Status.ERROR);
        assertThat(m.fault()).contains(new Server.Fault("MigrationFailed", "the target stopped answering"));
        assertThat(f.vcpusUsed("dst")).isZero();
        assertThat(f.vcpusUsed("src")).isEqualTo(1);
    }

    @Test
    void aCommandTheBusDoesNotTakeRollsBackAndRefusesWithUnavailable() {
        Server s = activeOnSource();
        f.sender.unreachable.add("src");

        assertThatThrownBy(() -> f.conductor.liveMigrate(s, Optional.empty(), 0))
                .isInstanceOf(ServiceUnavailable.class)
                .hasMessageStartingWith("the move of " + s.id() + " could not be handed to the hosts; try again: ");

        Server now = f.now(s);
        assertThat(now.taskState()).isEqualTo(TaskState.NONE);
        assertThat(now.fault()).map(Server.Fault::code).contains("DispatchFailed");
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.ERROR);
        assertThat(f.vcpusUsed("dst")).isZero();
    }

    @Test
    void aMoveItsHostsLeaveSilentIsAbortedAtBothEndsAndRolledBack() {
        Server s = activeOnSource();
        f.conductor.liveMigrate(s, Optional.empty(), 0);
        f.clock.advance(ConductorFixture.TASK_TIMEOUT.plus(Duration.ofSeconds(1)));

        f.parts.sweeper().sweep();

        assertThat(f.sent()).as("both ends stop the move").endsWith("src:ABORT_MIGRATION", "dst:ABORT_MIGRATION");
        assertThat(f.sender.sent.get(f.sender.sent.size() - 1).command().getAbortMigration().getMigrationId())
                .isEqualTo(f.migration(s).uuid());
        Server now = f.now(s);
        assertThat(now.taskState()).isEqualTo(TaskState.NONE);
        assertThat(now.fault()).map(Server.Fault::code).contains("TaskTimedOut");
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.ERROR);
        assertThat(f.vcpusUsed("dst")).isZero();
    }

    @Test
    void aServerDeletedDuringTheMoveAbortsItAtTheSource() {
        Server s = activeOnSource();
        f.conductor.liveMigrate(s, Optional.empty(), 0);

        f.actions().delete(f.now(s));

        assertThat(f.sent()).as("a target whose stream never began drops what it prepared").contains("src:ABORT_MIGRATION", "dst:ABORT_MIGRATION", "src:DELETE");
        assertThat(f.migration(s).status()).isEqualTo(Migration.Status.ERROR);
        assertThat(f.migration(s).fault()).map(Server.Fault::code).contains("ServerDeleted");
    }

    @Test
    void onlyAnActiveServerWithoutATaskMoves() {
        f.host("src", 4096);
        f.host("dst", 8192);
        Server off = f.server("src", InstanceState.SHUTOFF);

        assertThatThrownBy(() -> f.conductor.liveMigrate(off, Optional.empty(), 0))
                .isInstanceOf(InstanceInvalidState.class)
                .hasMessage("Cannot 'os-migrateLive' instance " + off.id() + " while it is in vm_state shutoff;"
                        + " live migration needs ACTIVE");
        assertThat(f.sent()).isEmpty();
        assertThat(f.vcpusUsed("dst")).isZero();
    }
}
