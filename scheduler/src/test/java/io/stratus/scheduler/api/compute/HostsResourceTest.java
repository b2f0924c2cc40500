package io.stratus.scheduler.api.compute;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Timestamp;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.stratus.api.auth.Caller;
import io.stratus.database.Database;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.Resources;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.HostNotes;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.ServerGroupStore;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.conductor.CommandPublisher;
import io.stratus.scheduler.conductor.Conductor;
import io.stratus.scheduler.conductor.ConductorParts;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.network.QuietNetworks;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.service.SchedulerComponents;
import io.stratus.scheduler.placement.PlacementView;
import io.stratus.scheduler.selection.HostSelector;
import io.stratus.scheduler.selection.Hypervisor;
import jakarta.ws.rs.container.ContainerRequestContext;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What {@code openstack compute service list} and {@code openstack hypervisor show} read: each
 * host's driver from its report, and the switch of its operator and of its agent. The resource on
 * its real stores (H2) and directory, called as an admin's request.
 */
class HostsResourceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NO_DRIVER = "no hypervisor driver works: /dev/kvm is missing and"
            + " qemu-system-x86_64 is not installed";

    private final Clock clock = Clock.systemUTC();
    private Database db;
    private HostDirectory hosts;
    private HostsResource api;

    @BeforeEach
    void start() {
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        PlacementStore placement = new PlacementStore(db.dataSource());
        PlacementView view = new PlacementView(placement, clock, Duration.ofSeconds(10), 1000);
        hosts = new HostDirectory(placement, new HostDirectory.Ratios(1.0, 1.0, 1.0), clock, view::invalidate);
        ServerStore servers = new ServerStore(db.dataSource(), clock);
        api = new HostsResource();
        api.placement = placement;
        api.hosts = hosts;
        api.notes = new HostNotes(db.dataSource());
        api.servers = servers;
        api.conductor = ConductorParts.assemble(new ConductorParts.Services(servers,
                        new ServerMetadataStore(db.dataSource()), new MigrationStore(db.dataSource(), clock),
                        new FlavorStore(db.dataSource(), clock),
                        new ImageCatalog("http://127.0.0.1:9/image", () -> null, clock),
                        new ServerGroupStore(db.dataSource(), clock), QuietNetworks.service(db.dataSource(), clock),
                        new io.stratus.scheduler.compute.InstanceActionStore(db.dataSource())),
                new ConductorParts.Hosts(placement, view, hosts, new HostSelector(List.of(), List.of()),
                        new CommandPublisher(new MockProducer<>(true, null, new StringSerializer(),
                                new ByteArraySerializer()))), clock,
                new Conductor.Settings(3, Duration.ofMinutes(10), Duration.ofSeconds(60)), new SimpleMeterRegistry())
                .conductor();
        Instant now = clock.instant();
        Caller admin = new Caller("u-admin", "admin", "p-admin", "admin", Set.of(Caller.ADMIN), now,
                now.plus(Duration.ofHours(1)));
        api.request = (ContainerRequestContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ContainerRequestContext.class}, (proxy, method, args) -> {
                    if (method.getName().equals("getProperty")) {
                        return admin;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        // Today's agent; a QEMU host; a host where no driver works.
        hosts.apply(report("kvm-old").build());
        hosts.apply(report("qemu-1").setHypervisorType("QEMU").setHypervisorVersion("7.2.0")
                .addTraits(Hypervisor.DRIVER_QEMU).addTraits(Hypervisor.COLD_MIGRATION).build());
        hosts.apply(report("broken").setEnabled(false).setDisabledReason(NO_DRIVER).build());
    }

    @AfterEach
    void stop() {
        db.close();
    }

    private HostReport.Builder report(String host) {
        return HostReport.newBuilder().setHost(host).setEnabled(true)
                .setReportedAt(Timestamp.newBuilder().setSeconds(clock.instant().getEpochSecond()))
                .setCapacity(Resources.newBuilder().setVcpus(4).setMemoryMib(8192).setDiskGib(20));
    }

    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> list(Map<String, Object> answer, String key) {
        return (List<Map<String, Object>>) answer.get(key);
    }

    private Map<String, Object> service(String host) {
        return list(api.services(), "services").stream().filter(s -> s.get("host").equals(host)).findFirst()
                .orElseThrow();
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> switchHost(String action, String body) throws Exception {
        return (Map<String, Object>) api.switchHost(action, JSON.readTree(body)).get("service");
    }

    @Test
    void aNewHostIsListedDisabledWithTheReasonUpLooksForUntilAnOperatorEnablesIt() throws Exception {
        HostDirectory guarded = new HostDirectory(api.placement, new HostDirectory.Ratios(1.0, 1.0, 1.0), clock,
                () -> { }, r -> { }, Optional.of(SchedulerComponents.NEW_HOST_DISABLED));
        api.hosts = guarded;
        guarded.apply(report("fresh").build());
        // The conductor's directory (whether the host is up) hears the report too; the host exists by then.
        hosts.apply(report("fresh").build());

        // What bin/stratus up matches before it enables a host it started (UpCommand.NEW_HOST_DISABLED).
        assertThat(service("fresh")).containsEntry("status", "disabled").containsEntry("state", "up")
                .containsEntry("disabled_reason", "New compute service disabled due to config option.");
        assertThat(switchHost("enable", "{\"host\": \"fresh\", \"binary\": \"nova-compute\"}"))
                .containsEntry("status", "enabled");
        guarded.apply(report("fresh").setReportedAt(Timestamp.newBuilder()
                .setSeconds(clock.instant().getEpochSecond() + 1)).build());
        assertThat(service("fresh")).as("its next reports leave it enabled").containsEntry("status", "enabled")
                .containsEntry("disabled_reason", null);
    }

    @Test
    void aHostItsAgentReportsUnusableIsAServiceDisabledWithTheAgentsReason() {
        assertThat(service("broken")).containsEntry("status", "disabled").containsEntry("state", "up")
                .containsEntry("disabled_reason", NO_DRIVER);
        assertThat(service("kvm-old")).containsEntry("status", "enabled").containsEntry("disabled_reason", null);
        assertThat(service("qemu-1")).containsEntry("status", "enabled");
    }

    @Test
    void theOperatorsReasonWinsWhenTheOperatorDisabledAndTheAgentsShowsWhateverTheOperatorSet() throws Exception {
        assertThat(switchHost("disable-log-reason", "{\"host\": \"broken\", \"binary\": \"nova-compute\","
                + " \"disabled_reason\": \"rack move\"}")).containsEntry("status", "disabled")
                .containsEntry("disabled_reason", "rack move");
        assertThat(service("broken")).containsEntry("status", "disabled").containsEntry("disabled_reason", "rack move");

        // The operator enables it again: the agent still says no guest can run there, and why.
        assertThat(switchHost("enable", "{\"host\": \"broken\", \"binary\": \"nova-compute\"}"))
                .containsEntry("status", "disabled").containsEntry("disabled_reason", NO_DRIVER);
        assertThat(service("broken")).containsEntry("status", "disabled").containsEntry("disabled_reason", NO_DRIVER);

        assertThat(switchHost("disable-log-reason", "{\"host\": \"qemu-1\", \"disabled_reason\": \"kernel update\"}"))
                .containsEntry("status", "disabled").containsEntry("disabled_reason", "kernel update");
        assertThat(switchHost("enable", "{\"host\": \"qemu-1\"}")).containsEntry("status", "enabled")
                .doesNotContainKey("disabled_reason");
        assertThat(service("qemu-1")).containsEntry("status", "enabled").containsEntry("disabled_reason", null);
    }

    @Test
    @SuppressWarnings("unchecked")
    void hypervisorsShowEachHostsDriverWithNovasVersionNumberAndItsStatus() {
        Map<String, Object> qemu = (Map<String, Object>) api.hypervisor("qemu-1").get("hypervisor");
        // Nova's fields that clients read: openstack hypervisor show parses cpu_info (a JSON string before 2.28).
        assertThat(qemu).containsEntry("cpu_info", "{\"arch\": \"x86_64\"}").containsKeys("current_workload",
                "disk_available_least", "free_disk_gb", "running_vms", "host_ip", "service");
        assertThat(qemu).containsEntry("hypervisor_type", "QEMU").containsEntry("hypervisor_version", 7_002_000L)
                .containsEntry("status", "enabled").containsEntry("state", "up");

        Map<String, Object> old = (Map<String, Object>) api.hypervisor("kvm-old").get("hypervisor");
        assertThat(old).as("today's agent: KVM, and the version the API always gave")
                .containsEntry("hypervisor_type", "KVM").containsEntry("hypervisor_version", 1L);

        Map<String, Object> broken = (Map<String, Object>) api.hypervisor("broken").get("hypervisor");
        assertThat(broken).containsEntry("hypervisor_type", "").containsEntry("status", "disabled")
                .containsEntry("state", "up");
        assertThat((Map<String, Object>) broken.get("service")).containsEntry("disabled_reason", NO_DRIVER);

        assertThat(list(api.hypervisors(), "hypervisors")).extracting(h -> h.get("hypervisor_hostname") + " "
                + h.get("status")).containsExactly("broken disabled", "kvm-old enabled", "qemu-1 enabled");
        assertThat(list(api.hypervisorDetails(), "hypervisors")).extracting(h -> h.get("hypervisor_type"))
                .containsExactly("", "KVM", "QEMU");
    }

    @Test
    @SuppressWarnings("unchecked")
    void hypervisorsShowTheKsmSavingsAndBalloonsTheHostLastReported() {
        hosts.apply(report("qemu-1").setHypervisorType("QEMU").setKsmSavedBytes(64L << 20)
                .setBalloonHeldBytes(96L << 20).setGuestAvailableBytes(300L << 20).setBalloonedGuests(2).build());
        Map<String, Object> qemu = (Map<String, Object>) api.hypervisor("qemu-1").get("hypervisor");
        assertThat(qemu).containsEntry("ksm_saved_bytes", 64L << 20).containsEntry("balloon_held_bytes", 96L << 20)
                .containsEntry("guest_available_bytes", 300L << 20).containsEntry("ballooned_guests", 2);
        Map<String, Object> old = (Map<String, Object>) api.hypervisor("kvm-old").get("hypervisor");
        assertThat(old).containsEntry("balloon_held_bytes", 0L).containsEntry("ballooned_guests", 0);
    }
}
