package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.InstanceState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.image.Image;
import io.stratus.scheduler.placement.ResourceRequest;
import io.stratus.scheduler.selection.Filters;
import io.stratus.scheduler.selection.Hypervisor;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Placement for boots and moves: the host chosen and claimed, and the filters' and weighers' decision. */
class SchedulingTest {
    private final ConductorFixture f = new ConductorFixture();
    private final Scheduling scheduling = new Scheduling(f.placement, f.view, f.hosts, f.selector, f.servers,
            f.groups);

    @AfterEach
    void close() {
        f.close();
    }

    private Image image() {
        return f.images.find("img").orElseThrow();
    }

    @Test
    void placesOnTheHostTheWeighersPreferAndClaimsIt() {
        f.host("h1", 2048);
        f.host("h2", 8192);
        Server s = f.waiting();

        Scheduling.Outcome outcome = scheduling.place(Scheduling.Request.boot(s, image()));

        assertThat(outcome).isInstanceOfSatisfying(Scheduling.Placed.class, p -> assertThat(p.host()).isEqualTo("h2"));
        assertThat(outcome.decision().summary()).isEqualTo("no host was filtered out");
        assertThat(f.vcpusUsed("h2")).isEqualTo(1);
        assertThat(f.vcpusUsed("h1")).isZero();
    }

    @Test
    void aHostTheRequestLeavesOutIsNotChosen() {
        f.host("h1", 2048);
        f.host("h2", 8192);
        Server s = f.waiting();

        Scheduling.Outcome outcome = scheduling.place(new Scheduling.Request("c1", s, image(),
                ResourceRequest.of(1, 512, 0), Set.of(), Set.of(), h -> !h.equals("h2")));

        assertThat(outcome).isInstanceOfSatisfying(Scheduling.Placed.class, p -> assertThat(p.host()).isEqualTo("h1"));
    }

    @Test
    void noHostSaysWhyAndWhichFilterRemovedHosts() {
        f.host("h1", 8192);
        Server s = f.waiting();

        Scheduling.Outcome outcome = scheduling.place(new Scheduling.Request("c1", s, image(),
                ResourceRequest.of(1, 512, 0), Set.of("CUSTOM_NO_HOST_HAS_IT"), Set.of(), h -> true));

        assertThat(outcome).isInstanceOfSatisfying(Scheduling.Unplaced.class, u ->
                assertThat(u.reason()).startsWith("No valid host was found."));
        assertThat(outcome.decision().removedBy(Filters.TRAITS_FILTER)).isTrue();
        assertThat(outcome.decision().summary()).contains(Filters.TRAITS_FILTER).contains("h1");
        assertThat(f.vcpusUsed("h1")).isZero();
    }

    @Test
    void noHostWithRoomNeedsNoFilter() {
        f.host("h1", 256);
        Server s = f.waiting();

        Scheduling.Outcome outcome = scheduling.place(Scheduling.Request.boot(s, image()));

        assertThat(outcome).isInstanceOf(Scheduling.Unplaced.class);
        assertThat(outcome.decision()).isEqualTo(Scheduling.Decision.NONE);
    }

    @Test
    void aClaimOnOneHostTakesOnlyThatHostAndOnlyWithRoom() {
        f.host("h1", 1024);
        f.host("h2", 8192);
        Server s = f.server("h1", InstanceState.ACTIVE);

        assertThat(scheduling.claimOn("resize-" + s.id(), ResourceRequest.of(1, 2048, 0), "h1")).isFalse();
        assertThat(scheduling.claimOn("resize-" + s.id(), ResourceRequest.of(1, 512, 0), "h1")).isTrue();
        assertThat(f.vcpusUsed("h1")).isEqualTo(2);
        assertThat(f.vcpusUsed("h2")).isZero();

        scheduling.release("resize-" + s.id(), "h1");
        assertThat(f.vcpusUsed("h1")).isEqualTo(1);
    }

    @Test
    void aHostItsAgentDisablesTakesNoClaimOnIt() {
        f.hosts.apply(io.stratus.proto.v1.HostReport.newBuilder().setHost("broken").setEnabled(false)
                .setDisabledReason("/dev/kvm went away").setGrpcAddress("broken:7070")
                .setCapacity(io.stratus.proto.v1.Resources.newBuilder().setVcpus(4).setMemoryMib(8192)
                        .setDiskGib(10)).setHypervisorType("KVM").addAllTraits(Set.of(Hypervisor.DRIVER_KVM)).build());

        assertThat(scheduling.claimOn("c1", ResourceRequest.of(1, 512, 0), "broken")).isFalse();
    }
}
