package io.stratus.scheduler.conductor;

import com.google.protobuf.Timestamp;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.stratus.database.Database;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.InstanceActionStore;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerGroupStore;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.network.QuietNetworks;
import io.stratus.scheduler.placement.Placement;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.PlacementView;
import io.stratus.scheduler.placement.ResourceClass;
import io.stratus.scheduler.placement.ResourceRequest;
import io.stratus.scheduler.selection.Filters;
import io.stratus.scheduler.selection.HostSelector;
import io.stratus.scheduler.selection.Hypervisor;
import io.stratus.scheduler.selection.Weigher;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * The conductor and its tasks on their real schema (H2 in memory), with the scheduler's filters
 * and weighers, a small image service that answers for one image, a clock the test moves, and a
 * sender that records commands instead of a message bus. No agents: a test plays their events.
 */
final class ConductorFixture implements AutoCloseable {
    static final Flavor SMALL = new Flavor("m1", "m1.small", 1, 512, 0, true);
    static final Flavor LARGE = new Flavor("m2", "m1.large", 2, 1024, 0, true);
    static final Hypervisor KVM = new Hypervisor("KVM", "0.1.0", Set.of(Hypervisor.DRIVER_KVM,
            Hypervisor.LIVE_MIGRATION, Hypervisor.COLD_MIGRATION));
    static final Duration TASK_TIMEOUT = Duration.ofMinutes(10);
    private static final String IMAGE_JSON = "{\"id\": \"img\", \"name\": \"tiny\", \"owner\": \"p1\","
            + " \"visibility\": \"public\", \"status\": \"active\", \"disk_format\": \"aki\","
            + " \"container_format\": \"aki\", \"size\": 4096, \"os_hash_value\": \"ab\", \"min_ram\": 0,"
            + " \"min_disk\": 0}";

    final MovableClock clock = new MovableClock();
    final Database db;
    final PlacementStore placement;
    final PlacementView view;
    final HostDirectory hosts;
    final HostSelector selector;
    final ServerStore servers;
    final ServerGroupStore groups;
    final MigrationStore migrations;
    final FlavorStore flavors;
    final NetworkService network;
    final ImageCatalog images;
    final InstanceActionStore actions;
    final RecordingSender sender = new RecordingSender();
    final ConductorParts parts;
    final Conductor conductor;
    private final HttpServer imageService;
    private long sequence;

    ConductorFixture() {
        this(db -> ServerVolumes.NONE);
    }

    /** With {@code volumes} as the servers' volumes (a test's own). */
    ConductorFixture(ServerVolumes volumes) {
        this(db -> volumes);
    }

    /** With the volume service {@code volumes} makes on the fixture's database. */
    ConductorFixture(java.util.function.Function<Database, ServerVolumes> volumes) {
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        try {
            imageService = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        imageService.createContext("/image/v2/images/img", exchange -> {
            byte[] body = IMAGE_JSON.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        imageService.start();
        images = new ImageCatalog("http://127.0.0.1:" + imageService.getAddress().getPort() + "/image",
                () -> new ImageCatalog.Token("t", Instant.now().plus(Duration.ofHours(1))), clock);
        placement = new PlacementStore(db.dataSource());
        view = new PlacementView(placement, clock, Duration.ofSeconds(10), 1000);
        hosts = new HostDirectory(placement, new HostDirectory.Ratios(1.0, 1.0, 1.0), clock, view::invalidate);
        servers = new ServerStore(db.dataSource(), clock);
        groups = new ServerGroupStore(db.dataSource(), clock);
        migrations = new MigrationStore(db.dataSource(), clock);
        flavors = new FlavorStore(db.dataSource(), clock);
        flavors.create(SMALL);
        flavors.create(LARGE);
        network = QuietNetworks.service(db.dataSource(), clock);
        actions = new InstanceActionStore(db.dataSource());
        // The filters the scheduler runs with; RAM spread prefers the roomiest host.
        selector = new HostSelector(List.of(Filters.alive(clock, Duration.ofDays(1)),
                Filters.imageProperties(), Filters.requiredTraits(), Filters.resources()),
                List.of(Weigher.ram(1.0)));
        parts = ConductorParts.assemble(new ConductorParts.Services(servers, new ServerMetadataStore(db.dataSource()),
                        migrations, flavors, images, groups, network, actions, volumes.apply(db)),
                new ConductorParts.Hosts(placement, view, hosts, selector, sender), clock,
                new Conductor.Settings(3, TASK_TIMEOUT, Duration.ofDays(1)), new SimpleMeterRegistry());
        conductor = parts.conductor();
    }

    @Override
    public void close() {
        imageService.stop(0);
        db.close();
    }

    ServerActions actions() {
        return new ServerActions(servers, flavors, placement, parts.commands(), conductor, migrations);
    }

    /** A host of the in-JVM VMM's agent with {@code memoryMib} and 4 vCPUs. */
    void host(String name, long memoryMib) {
        host(name, memoryMib, 4);
    }

    void host(String name, long memoryMib, int vcpus) {
        host(name, memoryMib, vcpus, KVM);
    }

    /** A host of {@code driver}'s agent. */
    void host(String name, long memoryMib, int vcpus, Hypervisor driver) {
        Instant now = clock.instant();
        hosts.apply(HostReport.newBuilder().setHost(name).setEnabled(true).setGrpcAddress(name + ":7070")
                .setReportedAt(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
                .setCapacity(Resources.newBuilder().setVcpus(vcpus).setMemoryMib(memoryMib).setDiskGib(10))
                .setHypervisorType(driver.type()).setHypervisorVersion(driver.version()).addAllTraits(driver.traits())
                .build());
    }

    /** A SMALL server in {@code state} on {@code host} (which holds its claim), with no task. */
    Server server(String host, InstanceState state) {
        return server(host, state, "img", SMALL);
    }

    /**
     * A server of {@code flavor} and image {@code imageId} ("" for one booted from a volume, whose
     * claim takes no disk) in {@code state} on {@code host}, which holds its claim; no task.
     */
    Server server(String host, InstanceState state, String imageId, Flavor flavor) {
        Instant now = clock.instant();
        Server s = new Server("s-" + UUID.randomUUID(), "vm", "p1", "u1", flavor.id(), Optional.empty(),
                flavor.vcpus(), flavor.ramMib(), flavor.diskGib(), imageId, "", Optional.empty(), state,
                TaskState.NONE, Optional.of(host), "req-0", now, List.of(host), 1, 0, Optional.empty(),
                Optional.empty(), now, now, Optional.empty(), PowerState.POWER_RUNNING, Optional.empty(),
                Optional.empty(), "", "", Server.Launch.plain("vm", "r-1"));
        servers.insert(s);
        if (!new Placement(placement).place(s.id(),
                ResourceRequest.of(flavor.vcpus(), flavor.ramMib(), imageId.isEmpty() ? 0 : flavor.diskGib()),
                fitting -> fitting.stream().filter(p -> p.name().equals(host)).toList()).equals(host)) {
            throw new AssertionError("no claim on " + host);
        }
        return s;
    }

    /** A SMALL server waiting to be placed, as the API leaves it. */
    Server waiting() {
        return waiting("img", 0);
    }

    /** A SMALL server of image {@code imageId} ("" for one booted from a volume) and a flavor disk, waiting. */
    Server waiting(String imageId, long diskGib) {
        Instant now = clock.instant();
        Server s = new Server("s-" + UUID.randomUUID(), "vm", "p1", "u1", SMALL.id(), Optional.empty(), 1, 512,
                diskGib, imageId, "", Optional.empty(), InstanceState.BUILD, TaskState.SCHEDULING, Optional.empty(),
                Conductor.newRequestId(), now, List.of(), 0, 0, Optional.empty(), Optional.empty(), now, now,
                Optional.empty(), PowerState.POWER_STATE_UNSPECIFIED, Optional.empty(), Optional.empty(), "", "",
                Server.Launch.plain("vm", "r-1"));
        servers.insert(s);
        return s;
    }

    Server now(Server s) {
        return servers.find(s.id()).orElseThrow();
    }

    /** Disk (GiB) claimed on {@code host}. */
    long diskUsed(String host) {
        return placement.usage(host).orElseThrow().used().getOrDefault(ResourceClass.DISK_GB, 0L);
    }

    /** vCPUs claimed on {@code host}. */
    long vcpusUsed(String host) {
        return placement.usage(host).orElseThrow().used().getOrDefault(ResourceClass.VCPU, 0L);
    }

    Migration migration(Server s) {
        List<Migration> all = migrations.list(new MigrationStore.Filter(Optional.of(s.id()), Optional.empty(),
                Optional.empty(), Optional.empty()));
        if (all.size() != 1) {
            throw new AssertionError("migrations of " + s.id() + ": " + all);
        }
        return all.get(0);
    }

    /** An event of {@code host}'s agent about {@code s}, answering its current request. */
    InstanceEvent.Builder event(Server s, String host, InstanceState state) {
        String request = now(s).requestId();
        return InstanceEvent.newBuilder().setEventId(UUID.randomUUID().toString()).setInstanceId(s.id())
                .setTenantId(s.projectId()).setHost(host).setState(state).setTaskState(TaskState.NONE)
                .setRequestId(request).setSequence(++sequence + 100);
    }

    /** The same, for the move under way (its migration id is the request's). */
    InstanceEvent.Builder moveEvent(Server s, String host, InstanceState state) {
        InstanceEvent.Builder e = event(s, host, state);
        return e.setMigrationId(e.getRequestId());
    }

    static Fault fault(String code, String message) {
        return Fault.newBuilder().setCode(code).setMessage(message).build();
    }

    /** Commands sent, as "host:KIND", in order. */
    List<String> sent() {
        return sender.sent.stream().map(c -> c.host() + ":" + c.command().getCommandCase()).toList();
    }

    /** Records what the conductor sends; a host listed as unreachable does not take it. */
    static final class RecordingSender implements CommandSender {
        record Sent(String host, CommandEnvelope command) {
        }

        final List<Sent> sent = new ArrayList<>();
        final Set<String> unreachable = new HashSet<>();

        @Override
        public void send(String host, CommandEnvelope command) {
            if (unreachable.contains(host)) {
                throw new DispatchException("the message bus did not take " + command.getCommandCase() + " for "
                        + host, new IOException("broker gone (test)"));
            }
            sent.add(new Sent(host, command));
        }
    }

    /** A clock that stands until the test moves it. */
    static final class MovableClock extends Clock {
        private Instant now = Instant.now();

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
