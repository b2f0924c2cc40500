package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.exception.Conflict;
import io.stratus.scheduler.exception.InstanceInvalidState;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The failed-host detector and evacuate on the real schema (H2), without a message bus or
 * agents: a host fails only when its reports stopped and its agent does not answer; then its HA
 * servers are booted elsewhere a few at a time, with a Delete left on its own topic (fencing),
 * and the others wait in ERROR for an admin's evacuate.
 */
class HostFailuresTest {
    private static final Duration FAILED_AFTER = Duration.ofSeconds(60);

    private final ConductorFixture f = new ConductorFixture();
    private final ServerMetadataStore metadata = new ServerMetadataStore(f.db.dataSource());
    /** The hosts whose agents answer Describe. */
    private final Set<String> answering = new HashSet<>();
    private final HostFailures failures = new HostFailures(f.servers, metadata, f.hosts, f.conductor,
            (host, address) -> answering.contains(host), f.clock, new HostFailures.Settings(FAILED_AFTER, 2));

    @AfterEach
    void close() {
        f.close();
    }

    /** h1 and h2 report; then h1 falls silent for longer than the limit while h2 goes on. */
    private void h1FallsSilent() {
        f.clock.advance(FAILED_AFTER.plusSeconds(1));
        f.host("h2", 8192);
    }

    private Server ha(Server s) {
        metadata.replace(s.id(), Map.of(HostFailures.HA_KEY, "true"));
        return s;
    }

    @Test
    void anHaServerOfAFailedHostIsBootedOnAnotherWithADeleteLeftForTheDeadHost() {
        f.host("h1", 8192);
        f.host("h2", 8192);
        Server s = ha(f.server("h1", InstanceState.ACTIVE));
        h1FallsSilent();

        failures.check();

        assertThat(f.sent()).containsExactly("h1:DELETE", "h2:BOOT");
        Server now = f.now(s);
        assertThat(now.host()).contains("h2");
        assertThat(now.vmState()).isEqualTo(InstanceState.BUILD);
        assertThat(now.requestId()).isNotEqualTo(s.requestId());
        assertThat(f.sender.sent.get(1).command().getRequestId()).isEqualTo(now.requestId());
        assertThat(f.vcpusUsed("h1")).as("the dead host's claim went").isZero();
        assertThat(f.vcpusUsed("h2")).isEqualTo(1);

        // The new host's agent boots it: ACTIVE there; a second pass changes nothing.
        f.conductor.onEvent(f.event(s, "h2", InstanceState.ACTIVE).setSequence(1).build());
        failures.check();
        assertThat(f.now(s).vmState()).isEqualTo(InstanceState.ACTIVE);
        assertThat(f.sent()).hasSize(2);
    }

    @Test
    void aHostWhoseReportsStopButWhoseAgentAnswersHasNotFailed() {
        f.host("h1", 8192);
        f.host("h2", 8192);
        Server s = ha(f.server("h1", InstanceState.ACTIVE));
        answering.add("h1");
        h1FallsSilent();

        failures.check();

        assertThat(f.sent()).isEmpty();
        assertThat(f.now(s).host()).contains("h1");
        assertThat(f.now(s).vmState()).isEqualTo(InstanceState.ACTIVE);
    }

    @Test
    void aHostThatReportedRecentlyIsNotAskedAndNotFailed() {
        f.host("h1", 8192);
        Server s = ha(f.server("h1", InstanceState.ACTIVE));

        failures.check();

        assertThat(f.sent()).isEmpty();
        assertThat(f.now(s).vmState()).isEqualTo(InstanceState.ACTIVE);
    }

    @Test
    void aServerWithoutTheHaPolicyGoesToErrorSayingTheHostIsDownAndAnAdminEvacuatesIt() {
        f.host("h1", 8192);
        f.host("h2", 8192);
        Server s = f.server("h1", InstanceState.ACTIVE);
        h1FallsSilent();

        failures.check();
        failures.check();

        Server now = f.now(s);
        assertThat(now.vmState()).isEqualTo(InstanceState.ERROR);
        assertThat(now.fault()).map(Server.Fault::code).contains(HostFailures.HOST_DOWN);
        assertThat(now.fault().orElseThrow().message()).contains("host h1 is down").contains("evacuate");
        assertThat(f.sent()).isEmpty();

        // Down for the API as well (Nova's service_down_time; the fixture's is a day).
        f.clock.advance(Duration.ofDays(2));
        f.host("h2", 8192);
        f.conductor.evacuate(f.now(s));

        assertThat(f.sent()).containsExactly("h1:DELETE", "h2:BOOT");
        assertThat(f.now(s).host()).contains("h2");
        assertThat(f.now(s).fault()).isEmpty();
    }

    @Test
    void failedHostsEvacuateAFewServersPerPass() {
        f.host("h1", 8192);
        f.host("h2", 8192);
        List<Server> three = List.of(ha(f.server("h1", InstanceState.ACTIVE)), ha(f.server("h1", InstanceState.ACTIVE)),
                ha(f.server("h1", InstanceState.SHUTOFF)));
        h1FallsSilent();

        failures.check();
        assertThat(three.stream().filter(s -> f.now(s).host().equals(java.util.Optional.of("h2")))).hasSize(2);

        failures.check();
        assertThat(three).allSatisfy(s -> assertThat(f.now(s).host()).contains("h2"));
    }

    @Test
    void evacuateRefusesAServerWhoseHostIsUpOrThatIsBusy() {
        f.host("h1", 8192);
        f.host("h2", 8192);
        Server up = f.server("h1", InstanceState.ACTIVE);

        assertThatThrownBy(() -> f.conductor.evacuate(up)).isInstanceOf(Conflict.class)
                .hasMessage("Compute service of h1 is still in use.");

        // A host down for the scheduler (Nova's service_down_time) is what evacuate asks.
        f.clock.advance(Duration.ofDays(2));
        f.host("h2", 8192);
        Server paused = f.server("h1", InstanceState.PAUSED);
        assertThatThrownBy(() -> f.conductor.evacuate(paused)).isInstanceOf(InstanceInvalidState.class);
        assertThat(f.now(paused).taskState()).isEqualTo(TaskState.NONE);
        assertThat(f.sent()).isEmpty();
    }
}
