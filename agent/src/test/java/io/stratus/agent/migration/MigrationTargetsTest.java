package io.stratus.agent.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.telemetry.MigrationMeters;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.MigrationHello;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Who a migration's target admits: only the source with the scheduler's token, for the prepared instance. */
class MigrationTargetsTest {
    @TempDir
    Path dir;

    private final ExecutorService workers = Executors.newSingleThreadExecutor();

    @AfterEach
    void stop() {
        workers.shutdownNow();
    }

    private MigrationTargets targets() {
        // No image cache: these cases never build a VM or a disk.
        return new MigrationTargets("target-host", new GuestSupervisor(null, dir, 4096, Optional.empty()), workers, Clock.systemUTC(),
                Duration.ofSeconds(5), new MigrationMeters(new SimpleMeterRegistry(), "target-host"));
    }

    private static InstanceRecord record(String id) {
        Boot boot = Boot.newBuilder().setName("vm").setResources(Resources.newBuilder().setVcpus(1)
                .setMemoryMib(64)).build();
        return new InstanceRecord(id, "project", "vm", InstanceState.ACTIVE, TaskState.NONE,
                PowerState.POWER_RUNNING, boot.getResources(), Optional.empty(), boot, Optional.empty(), Optional.empty(), 0, false, Optional.empty());
    }

    private static MigrationHello hello(String migration, String instance, String token) {
        return MigrationHello.newBuilder().setMigrationId(migration).setInstanceId(instance).setToken(token)
                .setSourceHost("source-host").setSequence(7).build();
    }

    private static Status.Code refusal(MigrationTargets t, MigrationHello hello) {
        try {
            t.admit(hello);
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
        throw new AssertionError("admitted " + hello);
    }

    @Test
    void anUnknownMigrationIsNotFoundSoThatTheSourceTriesAgainWhileTheTargetPrepares() {
        assertThat(refusal(targets(), hello("m-1", "i-1", "secret"))).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void aWrongTokenOrAnotherInstanceIsRefusedBeforeAnythingElseIsSaid() {
        MigrationTargets t = targets();
        t.refuse("m-1", "secret", "source-host", record("i-1"), "host has no room");
        assertThat(refusal(t, hello("m-1", "i-1", "guess"))).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(refusal(t, hello("m-1", "i-1", ""))).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(refusal(t, hello("m-1", "i-2", "secret"))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    }

    @Test
    void theRightSourceHearsWhyTheTargetCannotTakeTheInstance() {
        MigrationTargets t = targets();
        t.refuse("m-1", "secret", "source-host", record("i-1"), "host target-host has 0 of 1024 MiB free");
        assertThatThrownBy(() -> t.admit(hello("m-1", "i-1", "secret")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("0 of 1024 MiB free");
                });
        t.abort("m-1");
        assertThat(refusal(t, hello("m-1", "i-1", "secret"))).isEqualTo(Status.Code.NOT_FOUND);
    }
}
