package io.stratus.agent.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.agent.instance.InstanceRecord;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store against the agent's real schema (its Flyway migrations) in an H2 file. */
class AgentStoreTest {
    @TempDir
    Path dir;

    private AgentStore store;
    private JdbcDataSource ds;

    @BeforeEach
    void open() {
        ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:file:" + dir.resolve("agent") + ";WRITE_DELAY=0");
        ds.setUser("stratus");
        Flyway.configure().dataSource(ds).load().migrate();
        store = new AgentStore(ds);
    }

    private static InstanceRecord record(String id) {
        Boot boot = Boot.newBuilder().setName("web-1").setFlavor("m1")
                .setResources(Resources.newBuilder().setVcpus(2).setMemoryMib(512).setDiskGib(1)).build();
        return InstanceRecord.building(id, "tenant-a", boot, "req-1");
    }

    @Test
    void aRecordComesBackAsItWasWritten() {
        Instant launched = Instant.now().truncatedTo(ChronoUnit.MICROS);
        // A stopped guest's resize: the power is what tells a restart to leave it stopped.
        InstanceRecord rec = record("i-1").with(InstanceState.SHUTOFF, TaskState.NONE)
                .with(InstanceState.VERIFY_RESIZE, TaskState.NONE)
                .withResources(Resources.newBuilder().setVcpus(4).setMemoryMib(1024).build(),
                        Optional.of(Resources.newBuilder().setVcpus(2).setMemoryMib(512).build()))
                .withFault(Optional.of(Fault.newBuilder().setCode("X").setMessage("m").build()))
                .withLaunchedAt(launched).withSequence(7).withSnapshotted(true);
        store.save(rec);
        assertThat(store.find("i-1")).contains(rec);
        assertThat(store.find("i-1").orElseThrow().power()).isEqualTo(PowerState.POWER_SHUTDOWN);
        InstanceRecord next = rec.withPendingRequest(Optional.empty()).withSequence(8);
        store.save(next);
        assertThat(store.find("i-1")).contains(next);
        assertThat(store.all()).containsExactly(next);
        assertThat(store.find("i-2")).isEmpty();
    }

    @Test
    void aRequestsAnswerIsKeptWithTheRecordAndSurvivesReopening() {
        InstanceEvent e1 = InstanceEvent.newBuilder().setEventId("e1").setInstanceId("i-1").setState(InstanceState.ACTIVE)
                .setRequestId("req-1").build();
        InstanceEvent e2 = e1.toBuilder().setEventId("e2").build();
        store.saveApplied(record("i-1").with(InstanceState.ACTIVE, TaskState.NONE), "req-1", List.of(e1, e2));
        store = new AgentStore(ds);
        assertThat(store.appliedEvents("req-1")).contains(List.of(e1, e2));
        assertThat(store.appliedEvents("req-2")).isEmpty();
        assertThat(store.find("i-1")).map(InstanceRecord::state).contains(InstanceState.ACTIVE);
    }

    @Test
    void aRequestIsAppliedOnceAndAFailedWriteChangesNothing() {
        InstanceRecord first = record("i-1").with(InstanceState.ACTIVE, TaskState.NONE);
        store.saveApplied(first, "req-1", List.of());
        // The same request again must fail as a whole: the record change is rolled back with it.
        assertThatThrownBy(() -> store.saveApplied(first.with(InstanceState.ERROR, TaskState.NONE), "req-1",
                List.of())).isInstanceOf(StoreException.class);
        assertThat(store.find("i-1")).map(InstanceRecord::state).contains(InstanceState.ACTIVE);
    }
}
