package io.stratus.scheduler.selection;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.scheduler.placement.Inventory;
import io.stratus.scheduler.placement.ProviderUsage;
import io.stratus.scheduler.placement.ResourceClass;
import io.stratus.scheduler.placement.ResourceRequest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HostSelectorTest {
    private static final Instant NOW = Instant.parse("2026-11-26T08:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    private static final ResourceRequest SMALL = ResourceRequest.of(1, 1024, 0);

    private static HostState host(String name, long freeVcpus, long freeMemoryMb, Duration reportAge, String zone,
                                  Set<String> images, Set<String> instances) {
        ProviderUsage usage = new ProviderUsage(name, 1, false,
                Map.of(ResourceClass.VCPU, new Inventory(freeVcpus, 0, 1.0),
                        ResourceClass.MEMORY_MB, new Inventory(freeMemoryMb, 0, 1.0)), Map.of());
        return new HostState(usage, reportAge == null ? Optional.empty() : Optional.of(NOW.minus(reportAge)), zone,
                images, instances);
    }

    private static HostState host(String name, long freeVcpus, long freeMemoryMb) {
        return host(name, freeVcpus, freeMemoryMb, Duration.ofSeconds(5), "nova", Set.of(), Set.of());
    }

    private static RequestSpec request() {
        return new RequestSpec("i-new", SMALL, Optional.empty(), "img-debian", Optional.empty());
    }

    private static List<String> names(List<HostState> hosts) {
        return hosts.stream().map(HostState::name).toList();
    }

    @Test
    void hostsThatStoppedReportingOrNeverDidAreDown() {
        HostSelector s = new HostSelector(List.of(Filters.alive(CLOCK, Duration.ofSeconds(60))), List.of());
        List<HostState> hosts = List.of(host("fresh", 4, 4096),
                host("stale", 4, 4096, Duration.ofSeconds(61), "nova", Set.of(), Set.of()),
                host("silent", 4, 4096, null, "nova", Set.of(), Set.of()));
        assertThat(names(s.select(hosts, request()))).containsExactly("fresh");
    }

    @Test
    void imagePropertiesKeepImagesOffHostsThatCannotRunThem() {
        HostSelector s = new HostSelector(List.of(Filters.imageProperties()), List.of());
        HostState emulated = host("emulated", 4, 4096);
        HostState hardware = new HostState(host("hardware", 4, 4096).usage(), Optional.of(NOW), "nova", Set.of(),
                Set.of(), true);
        List<HostState> hosts = List.of(emulated, hardware);
        assertThat(names(s.select(hosts, image(Map.of())))).containsExactly("emulated", "hardware");
        assertThat(names(s.select(hosts, image(Map.of("architecture", "x86_64", "hypervisor_type", "KVM")))))
                .containsExactly("emulated", "hardware");
        assertThat(names(s.select(hosts, image(Map.of("architecture", "aarch64"))))).isEmpty();
        assertThat(names(s.select(hosts, image(Map.of("img_hv_type", "xen"))))).isEmpty();
        assertThat(names(s.select(hosts, image(Map.of("stratus_hardware_virtualization", "required")))))
                .containsExactly("hardware");
        assertThat(s.decide(hosts, image(Map.of("architecture", "ppc64le"))).summary())
                .isEqualTo("ImagePropertiesFilter removed 2 (emulated, hardware)");
    }

    @Test
    void anImagesHypervisorTypeIsComparedWithEachHostsOwnDriver() {
        HostSelector s = new HostSelector(List.of(Filters.imageProperties()), List.of());
        HostState kvm = driven("kvm-1", new Hypervisor("KVM", "", Set.of(Hypervisor.DRIVER_KVM)));
        HostState qemu = driven("qemu-1", new Hypervisor("QEMU", "7.2.0", Set.of(Hypervisor.DRIVER_QEMU)));
        HostState old = host("old-agent", 4, 4096);
        HostState broken = driven("broken", Hypervisor.UNKNOWN);
        HostState qemuOnKvm = driven("qemu-kvm", new Hypervisor("KVM", "8.2.2", Set.of(Hypervisor.DRIVER_QEMU)));
        List<HostState> hosts = List.of(kvm, qemu, old, broken, qemuOnKvm);
        assertThat(names(s.select(hosts, image(Map.of())))).containsExactly("broken", "kvm-1", "old-agent", "qemu-1",
                "qemu-kvm");
        assertThat(names(s.select(hosts, image(Map.of("hypervisor_type", "qemu"))))).containsExactly("qemu-1",
                "qemu-kvm");
        assertThat(names(s.select(hosts, image(Map.of("img_hv_type", "QEMU"))))).containsExactly("qemu-1",
                "qemu-kvm");
        assertThat(names(s.select(hosts, image(Map.of("hypervisor_type", "KVM"))))).containsExactly("kvm-1",
                "old-agent", "qemu-kvm");
        assertThat(names(s.select(hosts, image(Map.of("hypervisor_type", "xen"))))).isEmpty();
        assertThat(s.decide(hosts, image(Map.of("hypervisor_type", "qemu"))).summary())
                .isEqualTo("ImagePropertiesFilter removed 3 (kvm-1, old-agent, broken)");
    }

    @Test
    void onlyHostsWhoseDriverHasEveryRequiredTraitPass() {
        HostSelector s = new HostSelector(List.of(Filters.requiredTraits()), List.of());
        HostState kvm = driven("kvm-1", new Hypervisor("KVM", "", Set.of(Hypervisor.DRIVER_KVM,
                Hypervisor.LIVE_MIGRATION, Hypervisor.COLD_MIGRATION)));
        HostState qemu = driven("qemu-1", new Hypervisor("QEMU", "7.2.0", Set.of(Hypervisor.DRIVER_QEMU,
                Hypervisor.COLD_MIGRATION)));
        HostState broken = driven("broken", Hypervisor.UNKNOWN);
        HostState old = host("old-agent", 4, 4096);
        List<HostState> hosts = List.of(kvm, qemu, broken, old);
        assertThat(names(s.select(hosts, request()))).as("a boot requires nothing")
                .containsExactly("broken", "kvm-1", "old-agent", "qemu-1");
        RequestSpec live = request().requiring(Set.of(Hypervisor.LIVE_MIGRATION));
        assertThat(names(s.select(hosts, live))).containsExactly("kvm-1", "old-agent");
        assertThat(s.decide(hosts, live).summary()).isEqualTo("TraitsFilter removed 2 (qemu-1, broken)");
        assertThat(names(s.select(hosts, request().requiring(Set.of(Hypervisor.COLD_MIGRATION)))))
                .containsExactly("kvm-1", "old-agent", "qemu-1");
        assertThat(names(s.select(hosts, request().requiring(Set.of(Hypervisor.COLD_MIGRATION,
                Hypervisor.DRIVER_QEMU))))).containsExactly("qemu-1");
    }

    @Test
    void aHostItsAgentReportsDisabledIsNotChosenWhateverTheOperatorSet() {
        HostSelector s = new HostSelector(List.of(Filters.alive(CLOCK, Duration.ofSeconds(60))), List.of());
        HostState fine = host("fine", 4, 4096);
        HostState unusable = new HostState(host("unusable", 4, 4096).usage(), Optional.of(NOW), "nova", Set.of(),
                Set.of(), false, Hypervisor.UNKNOWN, Optional.of("no hypervisor driver works here"));
        assertThat(names(s.select(List.of(fine, unusable), request()))).containsExactly("fine");
        assertThat(s.decide(List.of(fine, unusable), request()).summary())
                .isEqualTo("ComputeFilter removed 1 (unusable)");
    }

    private static HostState driven(String name, Hypervisor hypervisor) {
        return new HostState(host(name, 4, 4096).usage(), Optional.of(NOW), "nova", Set.of(), Set.of(), false,
                hypervisor, Optional.empty());
    }

    private static RequestSpec image(Map<String, String> properties) {
        return new RequestSpec("i-new", SMALL, Optional.empty(), "img", Optional.empty(), properties);
    }

    @Test
    void resourcesAndZonesFilter() {
        HostSelector s = new HostSelector(List.of(Filters.resources(), Filters.availabilityZone()), List.of());
        List<HostState> hosts = List.of(host("full", 0, 4096), host("a1", 4, 4096),
                host("b1", 4, 4096, Duration.ZERO, "zone-b", Set.of(), Set.of()));
        assertThat(names(s.select(hosts, request()))).containsExactly("a1", "b1");
        RequestSpec inB = new RequestSpec("i-new", SMALL, Optional.of("zone-b"), "img", Optional.empty());
        assertThat(names(s.select(hosts, inB))).containsExactly("b1");
    }

    @Test
    void serverGroupsKeepMembersTogetherOrApart() {
        List<HostState> hosts = List.of(host("h1", 4, 4096, Duration.ZERO, "nova", Set.of(), Set.of("i-a")),
                host("h2", 4, 4096, Duration.ZERO, "nova", Set.of(), Set.of("i-b")), host("h3", 4, 4096));
        HostSelector s = new HostSelector(List.of(Filters.serverGroup()), List.of());
        RequestSpec together = new RequestSpec("i-new", SMALL, Optional.empty(), "img", Optional.of(
                new RequestSpec.ServerGroup(RequestSpec.Policy.AFFINITY, Set.of("i-a"))));
        RequestSpec apart = new RequestSpec("i-new", SMALL, Optional.empty(), "img", Optional.of(
                new RequestSpec.ServerGroup(RequestSpec.Policy.ANTI_AFFINITY, Set.of("i-a", "i-b"))));
        RequestSpec firstOfGroup = new RequestSpec("i-new", SMALL, Optional.empty(), "img", Optional.of(
                new RequestSpec.ServerGroup(RequestSpec.Policy.AFFINITY, Set.of())));
        assertThat(names(s.select(hosts, together))).containsExactly("h1");
        assertThat(names(s.select(hosts, apart))).containsExactly("h3");
        assertThat(names(s.select(hosts, firstOfGroup))).containsExactly("h1", "h2", "h3");
    }

    @Test
    void ramWeigherSpreadsOrPacks() {
        List<HostState> hosts = List.of(host("small", 4, 2048), host("large", 4, 8192), host("mid", 4, 4096));
        assertThat(names(new HostSelector(List.of(), List.of(Weigher.ram(1.0))).select(hosts, request())))
                .containsExactly("large", "mid", "small");
        assertThat(names(new HostSelector(List.of(), List.of(Weigher.ram(-1.0))).select(hosts, request())))
                .containsExactly("small", "mid", "large");
    }

    @Test
    void theSameImageWinsOverALittleMoreMemoryWhenItsMultiplierIsLarger() {
        List<HostState> hosts = List.of(host("roomy", 4, 8192),
                host("twin", 4, 6144, Duration.ZERO, "nova", Set.of("img-debian"), Set.of()));
        HostSelector ksmFirst = new HostSelector(List.of(), List.of(Weigher.ram(1.0), Weigher.sameImage(2.0)));
        assertThat(names(ksmFirst.select(hosts, request()))).containsExactly("twin", "roomy");
        HostSelector ramFirst = new HostSelector(List.of(), List.of(Weigher.ram(2.0), Weigher.sameImage(1.0)));
        assertThat(names(ramFirst.select(hosts, request()))).containsExactly("roomy", "twin");
        // Equal scores fall back to names: every replica orders the same way.
        assertThat(names(new HostSelector(List.of(), List.of(Weigher.cpu(1.0))).select(hosts, request())))
                .containsExactly("roomy", "twin");
    }
}
