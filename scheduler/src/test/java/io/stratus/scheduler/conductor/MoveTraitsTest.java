package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Timestamp;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.stratus.database.Database;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerGroupStore;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.exception.InvalidRequest;
import io.stratus.scheduler.exception.NoValidHost;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.network.QuietNetworks;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.PlacementView;
import io.stratus.scheduler.placement.ResourceClass;
import io.stratus.scheduler.selection.Filters;
import io.stratus.scheduler.selection.HostSelector;
import io.stratus.scheduler.selection.Hypervisor;
import io.stratus.scheduler.selection.Weigher;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Live and cold moves go only between hosts whose hypervisor drivers can do them, as the hosts'
 * reports say: the conductor on its real schema (H2), with the scheduler's filters, a recording
 * producer for the commands, and a small image service answering for the server's image.
 */
class MoveTraitsTest {
    private static final Flavor SMALL = new Flavor("m1", "m1.small", 1, 512, 0, true);
    private static final String IMAGE_JSON = "{\"id\": \"img\", \"name\": \"tiny\", \"owner\": \"p1\","
            + " \"visibility\": \"public\", \"status\": \"active\", \"disk_format\": \"aki\","
            + " \"container_format\": \"aki\", \"size\": 4096, \"os_hash_value\": \"ab\", \"min_ram\": 0,"
            + " \"min_disk\": 0}";
    private static final Hypervisor KVM = new Hypervisor("KVM", "0.1.0", Set.of(Hypervisor.DRIVER_KVM,
            Hypervisor.LIVE_MIGRATION, Hypervisor.COLD_MIGRATION));
    private static final Hypervisor QEMU = new Hypervisor("QEMU", "7.2.0", Set.of(Hypervisor.DRIVER_QEMU,
            Hypervisor.COLD_MIGRATION));
    private static final Hypervisor QEMU_TCG_LIVE = new Hypervisor("QEMU", "7.2.0", Set.of(Hypervisor.DRIVER_QEMU,
            Hypervisor.ACCEL_TCG, Hypervisor.LIVE_MIGRATION, Hypervisor.COLD_MIGRATION));
    private static final Hypervisor QEMU_KVM_LIVE = new Hypervisor("KVM", "7.2.0", Set.of(Hypervisor.DRIVER_QEMU,
            Hypervisor.LIVE_MIGRATION, Hypervisor.COLD_MIGRATION));
    /** A driver that can run guests but move none (an agent that does not offer moves). */
    private static final Hypervisor QEMU_STAYS = new Hypervisor("QEMU", "7.2.0",
            Set.of(Hypervisor.DRIVER_QEMU));

    private final Clock clock = Clock.systemUTC();
    private Database db;
    private HttpServer imageService;
    private MockProducer<String, byte[]> producer;
    private PlacementStore placement;
    private HostDirectory hosts;
    private ServerStore servers;
    private Conductor conductor;

    @BeforeEach
    void start() throws IOException {
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        imageService = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        imageService.createContext("/image/v2/images/img", exchange -> {
            byte[] body = IMAGE_JSON.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        imageService.start();
        ImageCatalog images = new ImageCatalog("http://127.0.0.1:" + imageService.getAddress().getPort() + "/image",
                () -> new ImageCatalog.Token("t", Instant.now().plus(Duration.ofHours(1))), clock);
        placement = new PlacementStore(db.dataSource());
        PlacementView view = new PlacementView(placement, clock, Duration.ofSeconds(10), 1000);
        hosts = new HostDirectory(placement, new HostDirectory.Ratios(1.0, 1.0, 1.0), clock, view::invalidate);
        servers = new ServerStore(db.dataSource(), clock);
        FlavorStore flavors = new FlavorStore(db.dataSource(), clock);
        flavors.create(SMALL);
        producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
        // The filters the scheduler runs with; RAM spread would prefer the roomiest host.
        HostSelector selector = new HostSelector(List.of(Filters.alive(clock, Duration.ofSeconds(60)),
                Filters.imageProperties(), Filters.requiredTraits(), Filters.resources()),
                List.of(Weigher.ram(1.0)));
        conductor = ConductorParts.assemble(new ConductorParts.Services(servers,
                        new ServerMetadataStore(db.dataSource()), new MigrationStore(db.dataSource(), clock), flavors,
                        images, new ServerGroupStore(db.dataSource(), clock),
                        QuietNetworks.service(db.dataSource(), clock),
                        new io.stratus.scheduler.compute.InstanceActionStore(db.dataSource())),
                new ConductorParts.Hosts(placement, view, hosts, selector, new CommandPublisher(producer)), clock,
                new Conductor.Settings(3, Duration.ofMinutes(10), Duration.ofSeconds(60)), new SimpleMeterRegistry())
                .conductor();
    }

    @AfterEach
    void stop() {
        imageService.stop(0);
        db.close();
    }

    /** A report of today's agent: no driver, version, traits or reason. */
    private void oldAgent(String host, long memoryMib) {
        hosts.apply(base(host, memoryMib).build());
    }

    private void newAgent(String host, long memoryMib, Hypervisor driver) {
        hosts.apply(base(host, memoryMib).setHypervisorType(driver.type()).setHypervisorVersion(driver.version())
                .addAllTraits(driver.traits()).build());
    }

    private HostReport.Builder base(String host, long memoryMib) {
        Instant now = clock.instant();
        return HostReport.newBuilder().setHost(host).setEnabled(true).setGrpcAddress("10.0.0.1:7070")
                .setReportedAt(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
                .setCapacity(Resources.newBuilder().setVcpus(4).setMemoryMib(memoryMib).setDiskGib(10));
    }

    private Server activeOn(String host) {
        Instant now = clock.instant();
        Server s = new Server("s-" + UUID.randomUUID(), "vm", "p1", "u1", SMALL.id(), Optional.empty(), 1, 512, 0,
                "img", "", Optional.empty(), InstanceState.ACTIVE, TaskState.NONE, Optional.of(host), "req-0", now,
                List.of(host), 1, 0, Optional.empty(), Optional.empty(), now, now, Optional.empty(),
                PowerState.POWER_RUNNING, Optional.empty(), Optional.empty(), "", "", Server.Launch.plain("vm", "r-1"));
        servers.insert(s);
        return s;
    }

    /** The hosts that were sent a command, in order, with its kind. */
    private List<String> commands() {
        return producer.history().stream().map(MoveTraitsTest::describe).toList();
    }

    private static String describe(ProducerRecord<String, byte[]> r) {
        try {
            return r.topic().substring("stratus.compute.".length()) + ":" + CommandEnvelope.parseFrom(r.value())
                    .getCommandCase();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private void assertNothingChanged(Server s, String... hostsWithoutClaims) {
        Server now = servers.find(s.id()).orElseThrow();
        assertThat(now.taskState()).isEqualTo(TaskState.NONE);
        assertThat(now.host()).isEqualTo(s.host());
        assertThat(commands()).isEmpty();
        for (String h : hostsWithoutClaims) {
            assertThat(placement.usage(h).orElseThrow().used().getOrDefault(ResourceClass.VCPU, 0L)).as(h).isZero();
        }
    }

    @Test
    void aLiveMigrationGoesOnlyToAHostWhoseDriverCanReceiveIt() {
        newAgent("src", 4096, KVM);
        newAgent("qemu-big", 65536, QEMU);
        newAgent("kvm-small", 2048, KVM);
        Server s = activeOn("src");

        assertThat(conductor.liveMigrate(s, Optional.empty(), 0)).isEqualTo("kvm-small");
        assertThat(commands()).containsExactly("kvm-small:PREPARE_MIGRATION_TARGET", "src:LIVE_MIGRATE");
        assertThat(servers.find(s.id()).orElseThrow().taskState()).isEqualTo(TaskState.MIGRATING_LIVE);
    }

    /**
     * A running guest travels in its driver's own stream: a QEMU guest on TCG goes to another host
     * of QEMU on TCG, never to the in-JVM VMM nor to QEMU on /dev/kvm, however roomy they are, and
     * a KVM guest never to a QEMU host; a named host of another driver is a bad request.
     */
    @Test
    void aLiveMigrationGoesOnlyToAHostOfTheSourcesDriver() {
        newAgent("tcg-src", 4096, QEMU_TCG_LIVE);
        newAgent("kvm-big", 65536, KVM);
        newAgent("qemu-kvm-big", 65536, QEMU_KVM_LIVE);
        newAgent("tcg-small", 2048, QEMU_TCG_LIVE);
        Server s = activeOn("tcg-src");
        assertThatThrownBy(() -> conductor.liveMigrate(s, Optional.of("kvm-big"), 0))
                .isInstanceOf(InvalidRequest.class)
                .hasMessage("Migration pre-check error: compute host kvm-big's hypervisor (KVM) cannot receive a live"
                        + " migration from host tcg-src's (QEMU): a running guest moves only between hosts of the same"
                        + " driver");
        assertThatThrownBy(() -> conductor.liveMigrate(s, Optional.of("qemu-kvm-big"), 0))
                .hasMessageContaining("(KVM, QEMU driver) cannot receive a live migration from host tcg-src's");
        assertNothingChanged(s, "kvm-big", "qemu-kvm-big");

        assertThat(conductor.liveMigrate(s, Optional.empty(), 0)).isEqualTo("tcg-small");
        assertThat(commands()).containsExactly("tcg-small:PREPARE_MIGRATION_TARGET", "tcg-src:LIVE_MIGRATE");

        newAgent("kvm-src", 4096, KVM);
        Server k = activeOn("kvm-src");
        assertThat(conductor.liveMigrate(k, Optional.empty(), 0)).as("not the QEMU hosts").isEqualTo("kvm-big");
    }

    @Test
    void aNamedTargetWhoseDriverCannotReceiveALiveMigrationIsABadRequest() {
        newAgent("src", 4096, KVM);
        newAgent("qemu-big", 65536, QEMU);
        Server s = activeOn("src");

        assertThatThrownBy(() -> conductor.liveMigrate(s, Optional.of("qemu-big"), 0))
                .isInstanceOf(InvalidRequest.class)
                .hasMessage("Migration pre-check error: compute host qemu-big's hypervisor (QEMU) cannot receive a"
                        + " live migration: it lacks the trait CUSTOM_STRATUS_LIVE_MIGRATION");
        // QEMU on /dev/kvm says "KVM", as Nova's libvirt does; the message names its driver too.
        newAgent("qemu-kvm", 65536, new Hypervisor("KVM", "8.2.2", Set.of(Hypervisor.DRIVER_QEMU,
                Hypervisor.COLD_MIGRATION)));
        assertThatThrownBy(() -> conductor.liveMigrate(s, Optional.of("qemu-kvm"), 0))
                .hasMessageContaining("compute host qemu-kvm's hypervisor (KVM, QEMU driver) cannot receive a live"
                        + " migration");
        assertNothingChanged(s, "qemu-big", "qemu-kvm");
    }

    @Test
    void withoutATargetAndNoHostThatCanReceiveItThereIsNoValidHostAndTheReason() {
        newAgent("src", 4096, KVM);
        newAgent("qemu-1", 65536, QEMU);
        newAgent("qemu-2", 65536, QEMU);
        Server s = activeOn("src");

        assertThatThrownBy(() -> conductor.liveMigrate(s, Optional.empty(), 0))
                .isInstanceOf(NoValidHost.class)
                .hasMessageStartingWith("No valid host was found for 'os-migrateLive' of " + s.id())
                .hasMessageMatching(".*; TraitsFilter removed 2 \\((qemu-1, qemu-2|qemu-2, qemu-1)\\) .*")
                .hasMessageEndingWith("(TraitsFilter: the target's hypervisor needs the trait"
                        + " CUSTOM_STRATUS_LIVE_MIGRATION to receive a live migration, and the source's driver"
                        + " (KVM))");
        assertNothingChanged(s, "qemu-1", "qemu-2");
    }

    @Test
    void aSourceWhoseDriverCannotSendALiveMigrationIsABadRequest() {
        newAgent("qemu-src", 4096, QEMU);
        newAgent("kvm-1", 65536, KVM);
        Server s = activeOn("qemu-src");

        for (Optional<String> target : List.of(Optional.<String>empty(), Optional.of("kvm-1"))) {
            assertThatThrownBy(() -> conductor.liveMigrate(s, target, 0))
                    .isInstanceOf(InvalidRequest.class)
                    .hasMessage("Migration pre-check error: compute host qemu-src's hypervisor (QEMU) cannot send a"
                            + " live migration: it lacks the trait CUSTOM_STRATUS_LIVE_MIGRATION");
        }
        assertNothingChanged(s, "kvm-1");
    }

    @Test
    void hostsOfAgentsFromBeforeDriversWereReportedStillLiveMigrateBetweenThem() {
        oldAgent("old-src", 4096);
        oldAgent("old-target", 8192);
        newAgent("kvm-new", 2048, KVM);
        Server s = activeOn("old-src");

        assertThat(conductor.liveMigrate(s, Optional.of("old-target"), 0)).isEqualTo("old-target");
        assertThat(commands()).containsExactly("old-target:PREPARE_MIGRATION_TARGET", "old-src:LIVE_MIGRATE");
    }

    @Test
    void aHostItsAgentReportsUnusableIsNoLiveMigrationTarget() {
        newAgent("src", 4096, KVM);
        newAgent("kvm-small", 2048, KVM);
        hosts.apply(base("kvm-broken", 65536).setEnabled(false).setHypervisorType("KVM")
                .addAllTraits(KVM.traits()).setDisabledReason("/dev/kvm went away").build());
        Server s = activeOn("src");

        assertThat(conductor.liveMigrate(s, Optional.empty(), 0)).isEqualTo("kvm-small");
        Server other = activeOn("src");
        assertThatThrownBy(() -> conductor.liveMigrate(other, Optional.of("kvm-broken"), 0))
                .isInstanceOf(NoValidHost.class)
                .hasMessageStartingWith("No valid host was found for 'os-migrateLive' of " + other.id()
                        + " to kvm-broken")
                .hasMessageEndingWith("; ComputeFilter removed 1 (kvm-broken)");
    }

    @Test
    void aColdMigrationGoesBetweenDriversThatCanCopyTheDisk() {
        newAgent("src", 4096, KVM);
        newAgent("qemu-big", 65536, QEMU);
        newAgent("stays", 131072, QEMU_STAYS);
        Server s = activeOn("src");

        assertThatThrownBy(() -> conductor.coldMove(s, "migrate", SMALL, Optional.of("stays")))
                .isInstanceOf(InvalidRequest.class)
                .hasMessage("Cannot 'migrate' instance " + s.id() + ": compute host stays's hypervisor (QEMU) cannot"
                        + " receive a cold migration's disk copy: it lacks the trait CUSTOM_STRATUS_COLD_MIGRATION");
        assertNothingChanged(s, "stays");

        // Without a target the roomiest host that can take the disk wins: QEMU can, from KVM.
        assertThat(conductor.coldMove(s, "migrate", SMALL, Optional.empty())).isEqualTo("qemu-big");
        assertThat(commands()).containsExactly("qemu-big:PREPARE_MIGRATION_TARGET", "src:MIGRATE_DISK");
    }

    @Test
    void aSourceWhoseDriverCannotCopyTheDiskCannotMoveCold() {
        newAgent("stays", 4096, QEMU_STAYS);
        newAgent("kvm-1", 65536, KVM);
        Server s = activeOn("stays");

        // The operator's migration says which host and why; the tenant's resize names no host.
        assertThatThrownBy(() -> conductor.coldMove(s, "migrate", SMALL, Optional.empty()))
                .isInstanceOf(InvalidRequest.class)
                .hasMessage("Cannot 'migrate' instance " + s.id() + ": compute host stays's hypervisor (QEMU) cannot"
                        + " send a cold migration's disk copy: it lacks the trait CUSTOM_STRATUS_COLD_MIGRATION");
        assertThatThrownBy(() -> conductor.coldMove(s, "resize", SMALL, Optional.empty()))
                .isInstanceOf(InvalidRequest.class)
                .hasMessage("Cannot 'resize' instance " + s.id() + ": the hypervisor of its compute host cannot resize it");
        assertNothingChanged(s, "kvm-1");
    }
}
