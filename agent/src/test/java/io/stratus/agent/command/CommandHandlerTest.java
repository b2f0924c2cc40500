package io.stratus.agent.command;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.guest.RecordingPlugs;
import io.stratus.agent.grpc.PeerChannels;
import io.stratus.agent.image.DirectorySource;
import io.stratus.agent.image.ImageCache;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.lifecycle.BacklogFence;
import io.stratus.agent.lifecycle.InstanceRecovery;
import io.stratus.agent.migration.HostDirectory;
import io.stratus.agent.migration.LiveMigrations;
import io.stratus.agent.migration.MigrationSources;
import io.stratus.agent.migration.MigrationTargets;
import io.stratus.agent.store.AgentStore;
import io.stratus.agent.telemetry.MigrationMeters;
import io.stratus.agent.virt.DriverCapabilities;
import io.stratus.agent.virt.FakeDriver.FakeGuest;
import io.stratus.agent.virt.FakeDriver;
import io.stratus.agent.virt.GuestExit;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.MigrationLimits;
import io.stratus.proto.v1.AbortMigration;
import io.stratus.proto.v1.AttachVolume;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.DetachVolume;
import io.stratus.proto.v1.VolumeAttachment;
import io.stratus.proto.v1.CreateImage;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.ConfirmResize;
import io.stratus.proto.v1.Delete;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.LiveMigrate;
import io.stratus.proto.v1.MigrateDisk;
import io.stratus.proto.v1.NetworkInterface;
import io.stratus.proto.v1.Pause;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.PrepareMigrationTarget;
import io.stratus.proto.v1.ProtoTime;
import io.stratus.proto.v1.Reboot;
import io.stratus.proto.v1.Rebuild;
import io.stratus.proto.v1.Resize;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.RevertResize;
import io.stratus.proto.v1.Start;
import io.stratus.proto.v1.Stop;
import io.stratus.proto.v1.TaskState;
import io.stratus.proto.v1.Unpause;
import io.stratus.proto.v1.WatchdogAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The compute manager's state machine over a fake hypervisor driver (as Nova's unit tests run over
 * {@code nova/virt/fake.py}): every command in every state an instance rests in, redelivered
 * requests, the faults a command ends in, and the guest exits the agent did not ask for. The
 * store (H2 with the agent's own schema), the guest supervisor and the image cache are the real
 * ones; only the guests are fake.
 */
class CommandHandlerTest {
    private static final String HOST = "host-a";
    private static final String TENANT = "tenant-a";
    private static final String ID = "i-1";
    private static final String KERNEL = "kernel-1";
    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    /** A port nothing listens on: moves to it fail at once. */
    private static final String UNREACHABLE = "127.0.0.1:1";
    private static final Resources CAPACITY = size(8, 8192, 100);
    private static final Resources SMALL = size(1, 256, 1);
    private static final Resources LARGE = size(2, 512, 2);

    @TempDir
    Path dir;

    private final FakeDriver driver = new FakeDriver();
    private final CollectedEvents events = new CollectedEvents();
    private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    private final ExecutorService workers = Executors.newCachedThreadPool();
    private final AtomicInteger requests = new AtomicInteger();
    /** The agent's schema (its Flyway migrations), made once; each test starts with empty tables. */
    private static JdbcDataSource dataSource;
    private AgentStore store;
    private GuestSupervisor guests;
    private final RecordingPlugs plugs = new RecordingPlugs();
    private LiveMigrations migrations;
    private CommandHandler handler;

    /** Every event the handler publishes, in order. */
    static final class CollectedEvents implements EventSink {
        private final List<InstanceEvent> published = new CopyOnWriteArrayList<>();

        @Override
        public void publish(InstanceEvent event) {
            published.add(event);
        }

        @Override
        public void awaitDelivery() {
        }

        List<InstanceEvent> forRequest(String requestId) {
            return published.stream().filter(e -> e.getRequestId().equals(requestId)).toList();
        }

        List<InstanceEvent> forInstance(String id) {
            return published.stream().filter(e -> e.getInstanceId().equals(id)).toList();
        }

        List<InstanceEvent> all() {
            return List.copyOf(published);
        }
    }

    @BeforeAll
    static void schema() {
        dataSource = new JdbcDataSource();
        dataSource.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        dataSource.setUser("stratus");
        Flyway.configure().dataSource(dataSource).load().migrate();
    }

    @AfterAll
    static void dropSchema() throws SQLException {
        sql("SHUTDOWN");
    }

    private static void sql(String statement) throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    @BeforeEach
    void agent() throws Exception {
        sql("TRUNCATE TABLE instance");
        sql("TRUNCATE TABLE applied_request");
        store = new AgentStore(dataSource);
        Path images = Files.createDirectories(dir.resolve("images"));
        // The fake driver never reads the kernel: any bytes do.
        Files.write(images.resolve(KERNEL), new byte[] {0x7f, 'E', 'L', 'F', 1, 2, 3, 4});
        startAgent();
    }

    /** The agent's parts over the test's store and driver: called again, an agent started anew. */
    private void startAgent() throws Exception {
        Path images = dir.resolve("images");
        ImageCache cache = new ImageCache(dir.resolve("cache"), new DirectorySource(images), 1 << 20, Set::of, clock);
        guests = new GuestSupervisor(driver, cache, plugs, dir.resolve("instances"), 4096);
        MigrationMeters meters = new MigrationMeters(new SimpleMeterRegistry(), HOST);
        // host-b is registered where nothing listens: a move to it gets past the address check and fails.
        HostDirectory directory = host -> "host-b".equals(host) ? Optional.of(UNREACHABLE) : Optional.empty();
        migrations = new LiveMigrations(new MigrationSources(HOST, directory, PeerChannels.plainText(), driver,
                new MigrationLimits(Duration.ofMillis(300), 5, OptionalLong.empty()), Duration.ofMillis(1),
                Duration.ofSeconds(1), meters),
                new MigrationTargets(HOST, guests, workers, clock, Duration.ofSeconds(1), meters), workers);
        handler = new CommandHandler(HOST, store, guests, CAPACITY, events, clock, migrations);
    }

    @AfterEach
    void stop() throws InterruptedException {
        // Stopped by the host, the guests end without telling the handler: nothing writes after the test.
        guests.all().keySet().forEach(guests::stop);
        workers.shutdownNow();
        workers.awaitTermination(5, TimeUnit.SECONDS);
    }

    // ---------------------------------------------------------------------------------------------
    // Commands and the states they are applied in

    /** The commands of the state machine, each as an envelope's payload. */
    enum Command {
        BOOT(b -> b.setBoot(boot(SMALL))),
        STOP(b -> b.setStop(Stop.newBuilder().setCleanShutdownTimeoutSeconds(5))),
        START(b -> b.setStart(Start.getDefaultInstance())),
        SOFT_REBOOT(b -> b.setReboot(Reboot.newBuilder().setKind(Reboot.Kind.SOFT))),
        HARD_REBOOT(b -> b.setReboot(Reboot.newBuilder().setKind(Reboot.Kind.HARD))),
        PAUSE(b -> b.setPause(Pause.getDefaultInstance())),
        UNPAUSE(b -> b.setUnpause(Unpause.getDefaultInstance())),
        RESIZE(b -> b.setResize(Resize.newBuilder().setFlavor("m1.large").setResources(LARGE))),
        CONFIRM_RESIZE(b -> b.setConfirmResize(ConfirmResize.getDefaultInstance())),
        REVERT_RESIZE(b -> b.setRevertResize(RevertResize.getDefaultInstance())),
        DELETE(b -> b.setDelete(Delete.getDefaultInstance())),
        LIVE_MIGRATE(b -> b.setLiveMigrate(LiveMigrate.newBuilder().setMigrationId("m-live").setTargetHost("host-b")
                .setTargetAddress(UNREACHABLE).setToken("secret"))),
        MIGRATE_DISK(b -> b.setMigrateDisk(MigrateDisk.newBuilder().setMigrationId("m-cold").setTargetHost("host-b")
                .setTargetAddress(UNREACHABLE).setToken("secret"))),
        REBUILD(b -> b.setRebuild(Rebuild.newBuilder().setSource(boot(SMALL).getSource()).setName("web-2"))),
        /** Of an instance without a disk (the table's boots have none): refused by what it finds. */
        CREATE_IMAGE(b -> b.setCreateImage(CreateImage.newBuilder().setImageId("snap-1")));

        private final Consumer<CommandEnvelope.Builder> payload;

        Command(Consumer<CommandEnvelope.Builder> payload) {
            this.payload = payload;
        }
    }

    /** The states an instance rests in, and how it got there. */
    enum Setup {
        ACTIVE, SHUTOFF, PAUSED,
        /** Resized while it ran: it runs at the new size. */
        VERIFY_RESIZE_RUNNING,
        /** Resized while stopped: it stays stopped. */
        VERIFY_RESIZE_STOPPED,
        /** Its boot failed: no guest, never launched. */
        ERROR,
        DELETED,
        /** The source of a cold move that has not been confirmed: kept stopped, SHUTOFF before the move. */
        MOVED_AWAY_STOPPED,
        /** Likewise, ACTIVE before the move: a revert starts it here again. */
        MOVED_AWAY_RUNNING
    }

    /**
     * What each command does in each state: its events as STATE/TASK (a final fault as
     * {@code :Code}), or the fault code it is refused with. Unlisted pairs are refused with
     * InstanceInvalidState, or InstanceNotFound for a deleted instance (Nova's
     * {@code @check_instance_state}).
     */
    private static final String TRANSITIONS = """
            ACTIVE                 BOOT            refused:InstanceExists
            ACTIVE                 STOP            ACTIVE/POWERING_OFF SHUTOFF/NONE
            ACTIVE                 SOFT_REBOOT     REBOOT/REBOOTING ACTIVE/NONE
            ACTIVE                 HARD_REBOOT     REBOOT/REBOOTING_HARD ACTIVE/NONE
            ACTIVE                 PAUSE           ACTIVE/PAUSING PAUSED/NONE
            ACTIVE                 RESIZE          RESIZE/RESIZE_PREP RESIZE/RESIZE_FINISH VERIFY_RESIZE/NONE
            ACTIVE                 DELETE          ACTIVE/DELETING DELETED/NONE
            ACTIVE                 LIVE_MIGRATE    ACTIVE/MIGRATING_LIVE ACTIVE/NONE:MigrationFailed
            ACTIVE                 MIGRATE_DISK    RESIZE/RESIZE_MIGRATING ACTIVE/NONE:MigrationFailed
            ACTIVE                 REBUILD         REBUILD/REBUILDING REBUILD/REBUILD_SPAWNING ACTIVE/NONE
            ACTIVE                 CREATE_IMAGE    ACTIVE/IMAGE_SNAPSHOT ACTIVE/NONE:NoDiskToImage

            SHUTOFF                BOOT            refused:InstanceExists
            SHUTOFF                START           SHUTOFF/POWERING_ON ACTIVE/NONE
            SHUTOFF                HARD_REBOOT     REBOOT/REBOOTING_HARD ACTIVE/NONE
            SHUTOFF                RESIZE          RESIZE/RESIZE_PREP RESIZE/RESIZE_FINISH VERIFY_RESIZE/NONE
            SHUTOFF                DELETE          SHUTOFF/DELETING DELETED/NONE
            SHUTOFF                MIGRATE_DISK    RESIZE/RESIZE_MIGRATING SHUTOFF/NONE:MigrationFailed
            SHUTOFF                REBUILD         REBUILD/REBUILDING REBUILD/REBUILD_SPAWNING SHUTOFF/NONE
            SHUTOFF                CREATE_IMAGE    SHUTOFF/IMAGE_SNAPSHOT SHUTOFF/NONE:NoDiskToImage

            PAUSED                 BOOT            refused:InstanceExists
            PAUSED                 HARD_REBOOT     REBOOT/REBOOTING_HARD ACTIVE/NONE
            PAUSED                 UNPAUSE         PAUSED/UNPAUSING ACTIVE/NONE
            PAUSED                 DELETE          PAUSED/DELETING DELETED/NONE
            PAUSED                 CREATE_IMAGE    PAUSED/IMAGE_SNAPSHOT PAUSED/NONE:NoDiskToImage

            VERIFY_RESIZE_RUNNING  BOOT            refused:InstanceExists
            VERIFY_RESIZE_RUNNING  CONFIRM_RESIZE  VERIFY_RESIZE/RESIZE_CONFIRMING ACTIVE/NONE
            VERIFY_RESIZE_RUNNING  REVERT_RESIZE   VERIFY_RESIZE/RESIZE_REVERTING ACTIVE/NONE
            VERIFY_RESIZE_RUNNING  DELETE          VERIFY_RESIZE/DELETING DELETED/NONE

            VERIFY_RESIZE_STOPPED  BOOT            refused:InstanceExists
            VERIFY_RESIZE_STOPPED  CONFIRM_RESIZE  VERIFY_RESIZE/RESIZE_CONFIRMING SHUTOFF/NONE
            VERIFY_RESIZE_STOPPED  REVERT_RESIZE   VERIFY_RESIZE/RESIZE_REVERTING SHUTOFF/NONE
            VERIFY_RESIZE_STOPPED  DELETE          VERIFY_RESIZE/DELETING DELETED/NONE

            ERROR                  BOOT            refused:InstanceExists
            ERROR                  STOP            ERROR/POWERING_OFF SHUTOFF/NONE
            ERROR                  HARD_REBOOT     REBOOT/REBOOTING_HARD ACTIVE/NONE
            ERROR                  DELETE          ERROR/DELETING DELETED/NONE
            ERROR                  REBUILD         REBUILD/REBUILDING REBUILD/REBUILD_SPAWNING ACTIVE/NONE

            DELETED                BOOT            refused:InstanceExists

            MOVED_AWAY_STOPPED     BOOT            refused:InstanceExists
            MOVED_AWAY_STOPPED     REVERT_RESIZE   SHUTOFF/RESIZE_REVERTING SHUTOFF/NONE
            MOVED_AWAY_STOPPED     DELETE          SHUTOFF/DELETING DELETED/NONE

            MOVED_AWAY_RUNNING     BOOT            refused:InstanceExists
            MOVED_AWAY_RUNNING     REVERT_RESIZE   ACTIVE/RESIZE_REVERTING ACTIVE/NONE
            MOVED_AWAY_RUNNING     DELETE          ACTIVE/DELETING DELETED/NONE
            """;

    private static final Map<Setup, Map<Command, String>> TABLE = parse(TRANSITIONS);

    private static Map<Setup, Map<Command, String>> parse(String table) {
        Map<Setup, Map<Command, String>> out = new EnumMap<>(Setup.class);
        for (Setup s : Setup.values()) {
            Map<Command, String> row = new EnumMap<>(Command.class);
            for (Command c : Command.values()) {
                row.put(c, s == Setup.DELETED ? "refused:InstanceNotFound" : "refused:InstanceInvalidState");
            }
            out.put(s, row);
        }
        table.lines().map(String::strip).filter(l -> !l.isEmpty()).forEach(line -> {
            String[] f = line.split("\\s+", 3);
            out.get(Setup.valueOf(f[0])).put(Command.valueOf(f[1]), f[2]);
        });
        return out;
    }

    static Stream<Arguments> everyCommandInEveryState() {
        return Arrays.stream(Setup.values()).flatMap(s -> Arrays.stream(Command.values())
                .map(c -> Arguments.of(s, c, TABLE.get(s).get(c))));
    }

    @ParameterizedTest(name = "{0} + {1} -> {2}")
    @MethodSource("everyCommandInEveryState")
    void eachCommandDoesWhatItsStateAllowsAndIsRefusedOtherwise(Setup setup, Command command, String outcome) {
        InstanceRecord before = bringTo(setup, ID);
        List<GuestView> guestsBefore = guestViews();

        String req = apply(ID, command);

        List<InstanceEvent> answer = events.forRequest(req);
        InstanceRecord after = store.find(ID).orElseThrow();
        if (outcome.startsWith("refused:")) {
            String code = outcome.substring("refused:".length());
            assertThat(answer).singleElement().satisfies(e -> {
                assertThat(e.getFault().getCode()).isEqualTo(code);
                assertThat(e.getFault().getMessage()).isNotBlank();
                assertThat(e.getState()).isEqualTo(before.state());
                assertThat(e.getTaskState()).isEqualTo(before.task());
                assertThat(e.getSequence()).isEqualTo(before.sequence());
                assertThat(e.getHost()).isEqualTo(HOST);
            });
            assertThat(after).as("the record of a refused command").isEqualTo(before);
            assertThat(guestViews()).as("the guests after a refused command").isEqualTo(guestsBefore);
            assertThat(store.appliedEvents(req)).contains(answer);
            return;
        }
        List<String> expected = Arrays.stream(outcome.split(" ")).map(t -> t.split(":")[0]).toList();
        assertThat(states(answer)).containsExactlyElementsOf(expected);
        InstanceEvent last = answer.get(answer.size() - 1);
        String[] finalToken = outcome.substring(outcome.lastIndexOf(' ') + 1).split(":");
        if (finalToken.length > 1) {
            assertThat(last.getFault().getCode()).isEqualTo(finalToken[1]);
        } else if (last.hasFault()) {
            // A command makes no fault of its own; a delete of an instance in ERROR carries the old one along.
            assertThat(before.fault()).contains(last.getFault());
        }
        for (int i = 0; i < answer.size(); i++) {
            assertThat(answer.get(i).getSequence()).as("sequence of event %d", i).isEqualTo(before.sequence() + i + 1);
            assertThat(answer.get(i).getHost()).isEqualTo(HOST);
        }
        assertThat(after.state() + "/" + after.task()).isEqualTo(expected.get(expected.size() - 1));
        assertThat(after.pendingRequest()).isEmpty();
        assertThat(after.sequence()).isEqualTo(last.getSequence());
        assertThat(after.power()).isEqualTo(last.getPowerState());
        assertThat(store.appliedEvents(req)).contains(List.of(last));
        assertGuestMatchesRecord(after);
    }

    /** Drives instance {@code id} into {@code setup} the way the scheduler's commands would. */
    private InstanceRecord bringTo(Setup setup, String id) {
        switch (setup) {
            case ACTIVE -> succeeds(id, Command.BOOT);
            case SHUTOFF -> {
                succeeds(id, Command.BOOT);
                succeeds(id, Command.STOP);
            }
            case PAUSED -> {
                succeeds(id, Command.BOOT);
                succeeds(id, Command.PAUSE);
            }
            case VERIFY_RESIZE_RUNNING -> {
                succeeds(id, Command.BOOT);
                succeeds(id, Command.RESIZE);
            }
            case VERIFY_RESIZE_STOPPED -> {
                succeeds(id, Command.BOOT);
                succeeds(id, Command.STOP);
                succeeds(id, Command.RESIZE);
            }
            case ERROR -> {
                driver.failNextSpawn("ImageNotBootable", "the kernel is not a bzImage");
                apply(id, Command.BOOT);
            }
            case DELETED -> {
                succeeds(id, Command.BOOT);
                succeeds(id, Command.DELETE);
            }
            // Finishing a cold move takes a target agent: the record is what its end leaves on the source.
            case MOVED_AWAY_STOPPED -> store.save(movedAway(id, InstanceState.SHUTOFF));
            case MOVED_AWAY_RUNNING -> store.save(movedAway(id, InstanceState.ACTIVE));
            default -> throw new IllegalArgumentException(setup.name());
        }
        InstanceRecord rec = store.find(id).orElseThrow();
        assertThat(rec.pendingRequest()).isEmpty();
        return rec;
    }

    private static InstanceRecord movedAway(String id, InstanceState before) {
        return new InstanceRecord(id, TENANT, "web-1", before, TaskState.RESIZE_MIGRATED, PowerState.POWER_SHUTDOWN,
                SMALL, Optional.empty(), boot(SMALL), Optional.empty(), Optional.of(NOW), 4, false, Optional.empty());
    }

    /** A guest as the test can see it, to tell that a refused command left it alone. */
    record GuestView(String instanceId, boolean running, boolean paused, int pauses, int resumes, int stops) {
    }

    private List<GuestView> guestViews() {
        return driver.guests().stream().map(g -> new GuestView(g.instanceId(), g.running(), g.paused(), g.pauses(),
                g.resumes(), g.stops())).toList();
    }

    /** A guest runs exactly when the record says so, paused exactly when it says PAUSED, and only one. */
    private void assertGuestMatchesRecord(InstanceRecord rec) {
        boolean meantToRun = rec.power() == PowerState.POWER_RUNNING || rec.power() == PowerState.POWER_PAUSED;
        List<FakeGuest> live = driver.guests(rec.id()).stream().filter(FakeGuest::running).toList();
        assertThat(guests.running(rec.id()).isPresent()).as("a supervised guest of %s", rec).isEqualTo(meantToRun);
        if (meantToRun) {
            assertThat(live).as("running guests of %s", rec).hasSize(1);
            assertThat(guests.running(rec.id()).orElseThrow().machine()).isSameAs(live.get(0));
            assertThat(live.get(0).paused()).isEqualTo(rec.power() == PowerState.POWER_PAUSED);
        } else {
            assertThat(live).as("running guests of %s", rec).isEmpty();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // What the allowed commands do to guests

    @Test
    void aBootRunsAGuestOfTheInstancesSizeFromTheCachedKernel() throws Exception {
        String req = apply(ID, Command.BOOT);

        assertThat(states(events.forRequest(req))).containsExactly("BUILD/SPAWNING", "ACTIVE/NONE");
        InstanceEvent active = events.forRequest(req).get(1);
        assertThat(active.hasFault()).isFalse();
        assertThat(active.getPowerState()).isEqualTo(PowerState.POWER_RUNNING);
        assertThat(instant(active.getLaunchedAt())).isEqualTo(NOW);
        assertThat(active.getResources()).isEqualTo(SMALL);
        GuestSpec spec = driver.lastGuest(ID).spec().orElseThrow();
        assertThat(spec.vcpus()).isEqualTo(1);
        assertThat(spec.memoryMiB()).isEqualTo(256);
        assertThat(spec.cmdline()).isEqualTo("console=ttyS0");
        assertThat(spec.kernel()).startsWith(dir.resolve("cache"));
        assertThat(Files.readAllBytes(spec.kernel())).isEqualTo(Files.readAllBytes(dir.resolve("images")
                .resolve(KERNEL)));
        assertThat(spec.disks()).isEmpty();
        InstanceRecord rec = store.find(ID).orElseThrow();
        assertThat(rec.launchedAt()).contains(NOW);
        assertGuestMatchesRecord(rec);
    }

    @Test
    void aNicOnATenantNetworkIsPluggedBeforeItsGuestStartsAndUnpluggedWhenTheInstanceGoes() {
        NetworkInterface nic = NetworkInterface.newBuilder().setPortId("0f7c2a4e-port").setNetworkId("net-1")
                .setMac("fa:16:3e:00:00:01").setTap("tap0f7c2a4e-po").setMtu(1450).build();
        NetworkInterface own = NetworkInterface.newBuilder().setTap("operators-tap").build();
        succeeds(ID, envelope(ID, Command.BOOT).setBoot(boot(SMALL).toBuilder().addNetworks(nic).addNetworks(own)));

        assertThat(plugs.calls()).as("the operator's own TAP is not the agent's").containsExactly("plug tap0f7c2a4e-po");
        assertThat(driver.lastGuest(ID).spec().orElseThrow().nics()).extracting(GuestSpec.Nic::tap)
                .containsExactly("tap0f7c2a4e-po", "operators-tap");
        succeeds(ID, Command.DELETE);
        assertThat(plugs.calls()).containsExactly("plug tap0f7c2a4e-po", "unplug tap0f7c2a4e-po");
    }

    @Test
    void aStopEndsTheGuestAndAStartBootsAFreshOne() {
        succeeds(ID, Command.BOOT);
        FakeGuest first = driver.lastGuest(ID);

        succeeds(ID, Command.STOP);
        assertThat(first.running()).isFalse();
        assertThat(first.stops()).isEqualTo(1);
        assertThat(guests.running(ID)).isEmpty();

        succeeds(ID, Command.START);
        assertThat(driver.guests(ID)).hasSize(2);
        assertThat(driver.lastGuest(ID).running()).isTrue();
        assertGuestMatchesRecord(store.find(ID).orElseThrow());
    }

    @Test
    void pauseAndUnpauseAskTheRunningGuestAndKeepIt() {
        succeeds(ID, Command.BOOT);
        FakeGuest guest = driver.lastGuest(ID);

        succeeds(ID, Command.PAUSE);
        assertThat(guest.pauses()).isEqualTo(1);
        assertThat(guest.paused()).isTrue();
        assertThat(store.find(ID).orElseThrow().power()).isEqualTo(PowerState.POWER_PAUSED);

        succeeds(ID, Command.UNPAUSE);
        assertThat(guest.resumes()).isEqualTo(1);
        assertThat(guest.paused()).isFalse();
        assertThat(guest.running()).isTrue();
        assertThat(driver.guests(ID)).containsExactly(guest);
    }

    @ParameterizedTest
    @EnumSource(value = Command.class, names = {"SOFT_REBOOT", "HARD_REBOOT"})
    void aRebootRunsTheInstanceInAFreshGuest(Command reboot) {
        succeeds(ID, Command.BOOT);
        FakeGuest first = driver.lastGuest(ID);

        succeeds(ID, reboot);

        assertThat(first.running()).isFalse();
        assertThat(driver.guests(ID)).hasSize(2);
        assertThat(driver.lastGuest(ID).running()).isTrue();
        assertGuestMatchesRecord(store.find(ID).orElseThrow());
    }

    @Test
    void aResizeRestartsTheGuestAtTheNewSizeAndAConfirmKeepsIt() {
        succeeds(ID, Command.BOOT);

        String req = succeeds(ID, Command.RESIZE);
        assertThat(events.forRequest(req).get(0).getResources()).isEqualTo(SMALL);
        assertThat(events.forRequest(req).get(1).getResources()).isEqualTo(LARGE);
        InstanceRecord verifying = store.find(ID).orElseThrow();
        assertThat(verifying.resources()).isEqualTo(LARGE);
        assertThat(verifying.previousResources()).contains(SMALL);
        assertThat(driver.guests(ID)).hasSize(2);
        GuestSpec spec = driver.lastGuest(ID).spec().orElseThrow();
        assertThat(spec.vcpus()).isEqualTo(2);
        assertThat(spec.memoryMiB()).isEqualTo(512);

        succeeds(ID, Command.CONFIRM_RESIZE);
        InstanceRecord confirmed = store.find(ID).orElseThrow();
        assertThat(confirmed.resources()).isEqualTo(LARGE);
        assertThat(confirmed.previousResources()).isEmpty();
        assertThat(driver.guests(ID)).as("a confirm restarts nothing").hasSize(2);
        assertGuestMatchesRecord(confirmed);
    }

    @Test
    void aRevertedResizeRunsTheGuestAtItsOldSizeAgain() {
        succeeds(ID, Command.BOOT);
        succeeds(ID, Command.RESIZE);

        String req = succeeds(ID, Command.REVERT_RESIZE);

        assertThat(events.forRequest(req).get(1).getResources()).isEqualTo(SMALL);
        InstanceRecord reverted = store.find(ID).orElseThrow();
        assertThat(reverted.resources()).isEqualTo(SMALL);
        assertThat(reverted.previousResources()).isEmpty();
        assertThat(driver.guests(ID)).hasSize(3);
        assertThat(driver.lastGuest(ID).spec().orElseThrow().vcpus()).isEqualTo(1);
        assertGuestMatchesRecord(reverted);
    }

    @Test
    void aStoppedInstanceIsResizedWithoutBeingStarted() {
        succeeds(ID, Command.BOOT);
        succeeds(ID, Command.STOP);

        succeeds(ID, Command.RESIZE);

        InstanceRecord rec = store.find(ID).orElseThrow();
        assertThat(rec.state()).isEqualTo(InstanceState.VERIFY_RESIZE);
        assertThat(rec.power()).isEqualTo(PowerState.POWER_SHUTDOWN);
        assertThat(driver.guests(ID)).hasSize(1);
        assertGuestMatchesRecord(rec);
    }

    @Test
    void aDeleteEndsTheGuestAndRemovesTheInstancesDirectory() {
        succeeds(ID, Command.BOOT);
        Path instanceDir = guests.instanceDir(ID);
        assertThat(instanceDir.resolve(FakeDriver.GUEST_FILE)).exists();

        succeeds(ID, Command.DELETE);

        assertThat(driver.lastGuest(ID).running()).isFalse();
        assertThat(guests.running(ID)).isEmpty();
        assertThat(instanceDir).doesNotExist();
        assertThat(store.find(ID).orElseThrow().holdsResources()).isFalse();
    }

    @Test
    void aLiveMigrationUnderADriverThatCannotMoveGuestsFailsAndTheGuestRunsOn() {
        succeeds(ID, Command.BOOT);
        FakeGuest guest = driver.lastGuest(ID);

        String req = apply(ID, Command.LIVE_MIGRATE);

        List<InstanceEvent> answer = events.forRequest(req);
        assertThat(states(answer)).containsExactly("ACTIVE/MIGRATING_LIVE", "ACTIVE/NONE");
        assertThat(answer.get(1).getFault().getCode()).isEqualTo("MigrationFailed");
        assertThat(answer.get(1).getMigrationId()).isEqualTo("m-live");
        assertThat(answer.get(1).getHost()).isEqualTo(HOST);
        assertThat(guest.running()).isTrue();
        assertThat(driver.guests(ID)).containsExactly(guest);
        // The fault belongs to the answer; the instance itself is fine.
        assertThat(store.find(ID).orElseThrow().fault()).isEmpty();
    }

    @Test
    void aLiveMigrationToAnAddressTheTargetHostDidNotRegisterIsRefusedAndTheGuestRunsOn() {
        driver.capabilities(new DriverCapabilities("fake", "fake", "1.0", Set.of(DriverCapabilities.Traits.LIVE_MIGRATION),
                8, 64, false, Optional.empty()));
        succeeds(ID, Command.BOOT);
        FakeGuest guest = driver.lastGuest(ID);

        for (LiveMigrate forged : List.of(
                LiveMigrate.newBuilder().setMigrationId("m-1").setTargetHost("host-b").setTargetAddress("127.0.0.1:2")
                        .setToken("secret").build(),
                LiveMigrate.newBuilder().setMigrationId("m-2").setTargetHost("host-z").setTargetAddress(UNREACHABLE)
                        .setToken("secret").build())) {
            CommandEnvelope env = envelope(ID, Command.LIVE_MIGRATE).setLiveMigrate(forged).build();
            handle(env);
            String req = env.getRequestId();

            List<InstanceEvent> answer = events.forRequest(req);
            assertThat(states(answer)).containsExactly("ACTIVE/MIGRATING_LIVE", "ACTIVE/NONE");
            assertThat(answer.get(1).getFault().getCode()).isEqualTo("MigrationFailed");
            assertThat(answer.get(1).getFault().getMessage()).contains("refused", forged.getTargetHost())
                    .containsAnyOf("is not the registered gRPC address", "has no registered gRPC address");
            assertThat(guest.running()).isTrue();
            assertThat(guest.paused()).isFalse();
        }
        assertThat(driver.guests(ID)).containsExactly(guest);
    }

    @Test
    void aColdMoveWhoseTargetIsUnreachableBootsTheGuestHereAgain() {
        succeeds(ID, Command.BOOT);
        FakeGuest first = driver.lastGuest(ID);

        String req = apply(ID, Command.MIGRATE_DISK);

        List<InstanceEvent> answer = events.forRequest(req);
        assertThat(states(answer)).containsExactly("RESIZE/RESIZE_MIGRATING", "ACTIVE/NONE");
        assertThat(answer.get(1).getFault().getCode()).isEqualTo("MigrationFailed");
        assertThat(answer.get(1).getMigrationId()).isEqualTo("m-cold");
        assertThat(first.running()).isFalse();
        assertThat(driver.guests(ID)).hasSize(2);
        InstanceRecord rec = store.find(ID).orElseThrow();
        assertThat(rec.fault()).isEmpty();
        assertGuestMatchesRecord(rec);
    }

    @Test
    void aRevertOnTheSourceOfAColdMoveStartsTheKeptInstanceHereAgain() {
        store.save(movedAway(ID, InstanceState.ACTIVE));

        succeeds(ID, Command.REVERT_RESIZE);

        InstanceRecord rec = store.find(ID).orElseThrow();
        assertThat(rec.state()).isEqualTo(InstanceState.ACTIVE);
        assertThat(driver.guests(ID)).hasSize(1);
        assertGuestMatchesRecord(rec);
    }

    // ---------------------------------------------------------------------------------------------
    // Redelivered requests and commands cut short by an agent restart

    @Test
    void aRedeliveredBootIsAnsweredWithTheRecordedEventsWithoutASecondSpawn() {
        CommandEnvelope boot = envelope(ID, Command.BOOT).build();
        handle(boot);
        InstanceEvent answered = events.forRequest(boot.getRequestId()).get(1);
        InstanceRecord before = store.find(ID).orElseThrow();
        int published = events.all().size();

        handle(boot);

        assertThat(events.all().subList(published, events.all().size())).containsExactly(answered);
        assertThat(driver.guests(ID)).hasSize(1);
        assertThat(store.find(ID)).contains(before);
    }

    @Test
    void aRedeliveredStopAfterLaterCommandsIsAnsweredAgainAndStopsNothing() {
        succeeds(ID, Command.BOOT);
        CommandEnvelope stop = envelope(ID, Command.STOP).build();
        handle(stop);
        InstanceEvent answered = events.forRequest(stop.getRequestId()).get(1);
        succeeds(ID, Command.START);
        FakeGuest running = driver.lastGuest(ID);
        InstanceRecord before = store.find(ID).orElseThrow();
        int published = events.all().size();

        handle(stop);

        assertThat(events.all().subList(published, events.all().size())).containsExactly(answered);
        assertThat(running.running()).isTrue();
        assertThat(running.stops()).isZero();
        assertThat(store.find(ID)).contains(before);
    }

    @Test
    void aRedeliveredRefusalIsRefusedAgainEvenWhereTheCommandWouldNowBeAllowed() {
        succeeds(ID, Command.BOOT);
        succeeds(ID, Command.STOP);
        CommandEnvelope pause = envelope(ID, Command.PAUSE).build();
        handle(pause);
        InstanceEvent refusal = events.forRequest(pause.getRequestId()).get(0);
        assertThat(refusal.getFault().getCode()).isEqualTo("InstanceInvalidState");
        succeeds(ID, Command.START);
        int published = events.all().size();

        handle(pause);

        assertThat(events.all().subList(published, events.all().size())).containsExactly(refusal);
        assertThat(driver.lastGuest(ID).pauses()).isZero();
        assertThat(store.find(ID).orElseThrow().state()).isEqualTo(InstanceState.ACTIVE);
    }

    @Test
    void aRedeliveredRefusedBootForAnUnknownInstanceCreatesNothing() {
        CommandEnvelope boot = envelope(ID, Command.BOOT).setBoot(boot(size(64, 256, 1))).build();
        handle(boot);
        InstanceEvent refusal = events.forRequest(boot.getRequestId()).get(0);
        int published = events.all().size();

        handle(boot);

        assertThat(events.all().subList(published, events.all().size())).containsExactly(refusal);
        assertThat(store.find(ID)).isEmpty();
        assertThat(driver.guests()).isEmpty();
    }

    @Test
    void aStopUnderWayWhenTheAgentDiedGoesOnPastItsDeadline() {
        succeeds(ID, Command.BOOT);
        CommandEnvelope stop = envelope(ID, Command.STOP).setDeadline(timestamp(NOW.minusSeconds(60)))
                .build();
        InstanceRecord active = store.find(ID).orElseThrow();
        // The agent recorded ACTIVE/POWERING_OFF for the stop, then died before finishing it.
        store.save(active.with(InstanceState.ACTIVE, TaskState.POWERING_OFF).withSequence(active.sequence() + 1)
                .withPendingRequest(Optional.of(stop.getRequestId())));

        handle(stop);

        assertThat(states(events.forRequest(stop.getRequestId()))).containsExactly("ACTIVE/POWERING_OFF",
                "SHUTOFF/NONE");
        assertThat(driver.lastGuest(ID).running()).isFalse();
        assertThat(store.find(ID).orElseThrow().state()).isEqualTo(InstanceState.SHUTOFF);
    }

    @Test
    void aBootUnderWayWhenTheAgentDiedIsFinishedWithoutBootingTwice() {
        CommandEnvelope boot = envelope(ID, Command.BOOT).build();
        InstanceRecord building = InstanceRecord.building(ID, TENANT, boot.getBoot(), boot.getRequestId())
                .withSequence(1);
        store.save(building);
        // The restart's recovery booted the guest already.
        guests.launch(building);

        handle(boot);

        assertThat(states(events.forRequest(boot.getRequestId()))).containsExactly("ACTIVE/NONE");
        assertThat(driver.guests(ID)).hasSize(1);
        assertGuestMatchesRecord(store.find(ID).orElseThrow());
    }

    @Test
    void aBootUnderWayWhenTheAgentDiedWithoutAGuestIsSpawnedOnce() {
        CommandEnvelope boot = envelope(ID, Command.BOOT).build();
        store.save(InstanceRecord.building(ID, TENANT, boot.getBoot(), boot.getRequestId()).withSequence(1));

        handle(boot);

        assertThat(states(events.forRequest(boot.getRequestId()))).containsExactly("ACTIVE/NONE");
        assertThat(driver.guests(ID)).hasSize(1);
        assertGuestMatchesRecord(store.find(ID).orElseThrow());
    }

    @Test
    void aCommandIsRefusedWhileAnotherIsUnderWayButADeleteIsNot() {
        succeeds(ID, Command.BOOT);
        InstanceRecord active = store.find(ID).orElseThrow();
        InstanceRecord stopping = active.with(InstanceState.ACTIVE, TaskState.POWERING_OFF)
                .withSequence(active.sequence() + 1).withPendingRequest(Optional.of("req-stop-before-crash"));
        store.save(stopping);

        String pause = apply(ID, Command.PAUSE);

        InstanceEvent refusal = events.forRequest(pause).get(0);
        assertThat(refusal.getFault().getCode()).isEqualTo("InstanceInvalidState");
        assertThat(refusal.getTaskState()).isEqualTo(TaskState.POWERING_OFF);
        assertThat(store.find(ID)).contains(stopping);

        String delete = apply(ID, Command.DELETE);
        assertThat(states(events.forRequest(delete))).containsExactly("ACTIVE/DELETING", "DELETED/NONE");
        assertThat(guests.running(ID)).isEmpty();
    }

    // ---------------------------------------------------------------------------------------------
    // Faults

    @Test
    void aBootWhoseSpawnFailsEndsInErrorWithTheDriversFault() {
        driver.failNextSpawn("ImageNotBootable", "the kernel is not a bzImage or an ELF vmlinux");

        String req = apply(ID, Command.BOOT);

        List<InstanceEvent> answer = events.forRequest(req);
        assertThat(states(answer)).containsExactly("BUILD/SPAWNING", "ERROR/NONE");
        assertThat(answer.get(1).getFault().getCode()).isEqualTo("ImageNotBootable");
        assertThat(answer.get(1).getFault().getMessage()).contains("not a bzImage");
        assertThat(answer.get(1).hasLaunchedAt()).isFalse();
        InstanceRecord rec = store.find(ID).orElseThrow();
        assertThat(rec.state()).isEqualTo(InstanceState.ERROR);
        assertThat(rec.fault()).map(f -> f.getCode()).contains("ImageNotBootable");
        assertThat(rec.holdsResources()).as("a failed build holds nothing").isFalse();
        assertThat(driver.guests()).isEmpty();
        assertThat(guests.running(ID)).isEmpty();
    }

    @Test
    void aBootWhoseKernelImageIsMissingEndsInErrorWithImageNotFound() {
        CommandEnvelope boot = envelope(ID, Command.BOOT).setBoot(boot(SMALL).toBuilder()
                .setSource(BootSource.newBuilder().setKernelImageId("no-such-kernel"))).build();

        handle(boot);

        List<InstanceEvent> answer = events.forRequest(boot.getRequestId());
        assertThat(states(answer)).containsExactly("BUILD/SPAWNING", "ERROR/NONE");
        assertThat(answer.get(1).getFault().getCode()).isEqualTo("ImageNotFound");
        assertThat(driver.guests()).isEmpty();
    }

    @Test
    void aBootAskingForAConfigDriveOnAHostWithoutMetadataApiEndsInErrorWithConfigDriveFailed() {
        CommandEnvelope boot = envelope(ID, Command.BOOT).setBoot(boot(SMALL).toBuilder().setConfigDrive(true)).build();

        handle(boot);

        List<InstanceEvent> answer = events.forRequest(boot.getRequestId());
        assertThat(states(answer)).containsExactly("BUILD/SPAWNING", "ERROR/NONE");
        assertThat(answer.get(1).getFault().getCode()).isEqualTo("ConfigDriveFailed");
        assertThat(answer.get(1).getFault().getMessage()).contains("config drive");
        assertThat(driver.guests()).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(value = Command.class, names = {"START", "HARD_REBOOT", "RESIZE"})
    void aCommandWhoseSpawnFailsEndsInErrorWithTheDriversFault(Command command) {
        succeeds(ID, Command.BOOT);
        if (command == Command.START) {
            succeeds(ID, Command.STOP);
        }
        driver.failNextSpawn("DiskUnusable", "the disk is locked by another process");

        String req = apply(ID, command);

        List<InstanceEvent> answer = events.forRequest(req);
        InstanceEvent last = answer.get(answer.size() - 1);
        assertThat(last.getState() + "/" + last.getTaskState()).isEqualTo("ERROR/NONE");
        assertThat(last.getFault().getCode()).isEqualTo("DiskUnusable");
        InstanceRecord rec = store.find(ID).orElseThrow();
        assertThat(rec.state()).isEqualTo(InstanceState.ERROR);
        assertThat(rec.pendingRequest()).isEmpty();
        assertThat(store.appliedEvents(req)).contains(List.of(last));
        assertThat(guests.running(ID)).isEmpty();
    }

    static Stream<Command> everyCommandButBoot() {
        return Arrays.stream(Command.values()).filter(c -> c != Command.BOOT);
    }

    @ParameterizedTest
    @MethodSource("everyCommandButBoot")
    void aCommandForAnUnknownInstanceIsRefusedWithInstanceNotFound(Command command) {
        String req = apply("i-unknown", command);

        assertThat(events.forRequest(req)).singleElement().satisfies(e -> {
            assertThat(e.getFault().getCode()).isEqualTo("InstanceNotFound");
            assertThat(e.getState()).isEqualTo(InstanceState.INSTANCE_STATE_UNSPECIFIED);
            assertThat(e.getInstanceId()).isEqualTo("i-unknown");
        });
        assertThat(store.find("i-unknown")).isEmpty();
        assertThat(driver.guests()).isEmpty();
    }

    @ParameterizedTest
    @MethodSource("everyCommandButBoot")
    void aCommandPastItsDeadlineIsRefusedWithCommandExpiredButADeleteIsApplied(Command command) {
        succeeds(ID, Command.BOOT);
        InstanceRecord before = store.find(ID).orElseThrow();
        List<GuestView> guestsBefore = guestViews();
        CommandEnvelope late = envelope(ID, command).setDeadline(timestamp(NOW.minusMillis(1)))
                .build();

        handle(late);

        List<InstanceEvent> answer = events.forRequest(late.getRequestId());
        if (command == Command.DELETE) {
            assertThat(states(answer)).containsExactly("ACTIVE/DELETING", "DELETED/NONE");
            assertThat(guests.running(ID)).isEmpty();
            return;
        }
        assertThat(answer).singleElement().satisfies(e -> {
            assertThat(e.getFault().getCode()).isEqualTo("CommandExpired");
            assertThat(e.getState()).isEqualTo(InstanceState.ACTIVE);
        });
        assertThat(store.find(ID)).contains(before);
        assertThat(guestViews()).isEqualTo(guestsBefore);
    }

    @Test
    void aBootPastItsDeadlineIsRefusedWithCommandExpiredAndCreatesNothing() {
        CommandEnvelope late = envelope(ID, Command.BOOT).setDeadline(timestamp(NOW.minusSeconds(1)))
                .build();

        handle(late);

        assertThat(events.forRequest(late.getRequestId())).singleElement()
                .satisfies(e -> assertThat(e.getFault().getCode()).isEqualTo("CommandExpired"));
        assertThat(store.find(ID)).isEmpty();
        assertThat(driver.guests()).isEmpty();
    }

    @Test
    void aCommandBeforeItsDeadlineIsApplied() {
        CommandEnvelope boot = envelope(ID, Command.BOOT).setDeadline(timestamp(NOW.plusSeconds(1)))
                .build();

        handle(boot);

        assertThat(states(events.forRequest(boot.getRequestId()))).containsExactly("BUILD/SPAWNING", "ACTIVE/NONE");
    }

    static Stream<Resources> sizesTheHostHasNoRoomFor() {
        return Stream.of(size(9, 256, 1), size(1, 8193, 1), size(1, 256, 101));
    }

    @ParameterizedTest
    @MethodSource("sizesTheHostHasNoRoomFor")
    void aBootLargerThanTheHostIsRefusedWithInsufficientResources(Resources wanted) {
        driver.capabilities(FakeDriver.usable(16, 64));
        CommandEnvelope boot = envelope(ID, Command.BOOT).setBoot(boot(wanted)).build();

        handle(boot);

        assertThat(events.forRequest(boot.getRequestId())).singleElement().satisfies(e -> {
            assertThat(e.getFault().getCode()).isEqualTo("InsufficientResources");
            assertThat(e.getState()).isEqualTo(InstanceState.ERROR);
            assertThat(e.getResources()).isEqualTo(wanted);
        });
        assertThat(store.find(ID)).isEmpty();
        assertThat(driver.guests()).isEmpty();
    }

    @Test
    void theInstancesOnTheHostCountAgainstItsCapacityButFailedBuildsDoNot() {
        Resources half = size(4, 1024, 10);
        succeeds("i-1", envelope("i-1", Command.BOOT).setBoot(boot(half)));
        driver.failNextSpawn("ImageNotBootable", "not a kernel");
        handle(envelope("i-2", Command.BOOT).setBoot(boot(half)).build());
        assertThat(store.find("i-2").orElseThrow().state()).isEqualTo(InstanceState.ERROR);

        succeeds("i-3", envelope("i-3", Command.BOOT).setBoot(boot(half)));

        CommandEnvelope fourth = envelope("i-4", Command.BOOT).setBoot(boot(size(1, 256, 1))).build();
        handle(fourth);
        assertThat(events.forRequest(fourth.getRequestId())).singleElement()
                .satisfies(e -> assertThat(e.getFault().getCode()).isEqualTo("InsufficientResources"));
        assertThat(store.find("i-4")).isEmpty();
    }

    @Test
    void aResizeBeyondTheHostsFreeShareIsRefusedAndTheInstanceKeepsItsSize() {
        succeeds("i-1", envelope("i-1", Command.BOOT).setBoot(boot(size(4, 1024, 10))));
        succeeds("i-2", envelope("i-2", Command.BOOT).setBoot(boot(SMALL)));
        InstanceRecord before = store.find("i-2").orElseThrow();

        CommandEnvelope resize = envelope("i-2", Command.RESIZE).setResize(Resize.newBuilder()
                .setResources(size(5, 1024, 10))).build();
        handle(resize);

        assertThat(events.forRequest(resize.getRequestId())).singleElement().satisfies(e -> {
            assertThat(e.getFault().getCode()).isEqualTo("InsufficientResources");
            assertThat(e.getState()).isEqualTo(InstanceState.ACTIVE);
        });
        assertThat(store.find("i-2")).contains(before);
        assertThat(driver.guests("i-2")).hasSize(1);
    }

    @Test
    void aResizeMayUseTheShareTheInstanceHoldsItself() {
        succeeds(ID, Command.BOOT);

        succeeds(ID, envelope(ID, Command.RESIZE).setResize(Resize.newBuilder().setResources(CAPACITY)));

        assertThat(store.find(ID).orElseThrow().resources()).isEqualTo(CAPACITY);
    }

    static Stream<Resources> sizesTheDriverCannotRun() {
        // The fake driver runs 1 to 4 vCPUs and at least 64 MiB.
        return Stream.of(size(0, 256, 1), size(5, 256, 1), size(1, 63, 1));
    }

    @ParameterizedTest
    @MethodSource("sizesTheDriverCannotRun")
    void aBootOfASizeTheDriverCannotRunIsRefusedWithInvalidResources(Resources wanted) {
        driver.capabilities(FakeDriver.usable(4, 64));
        CommandEnvelope boot = envelope(ID, Command.BOOT).setBoot(boot(wanted)).build();

        handle(boot);

        assertThat(events.forRequest(boot.getRequestId())).singleElement().satisfies(e -> {
            assertThat(e.getFault().getCode()).isEqualTo("InvalidResources");
            assertThat(e.getState()).isEqualTo(InstanceState.ERROR);
        });
        assertThat(store.find(ID)).isEmpty();
        assertThat(driver.guests()).isEmpty();
    }

    @ParameterizedTest
    @MethodSource("sizesTheDriverCannotRun")
    void aResizeToASizeTheDriverCannotRunIsRefusedWithInvalidResources(Resources wanted) {
        driver.capabilities(FakeDriver.usable(4, 64));
        succeeds(ID, Command.BOOT);
        InstanceRecord before = store.find(ID).orElseThrow();

        CommandEnvelope resize = envelope(ID, Command.RESIZE).setResize(Resize.newBuilder().setResources(wanted))
                .build();
        handle(resize);

        assertThat(events.forRequest(resize.getRequestId())).singleElement()
                .satisfies(e -> assertThat(e.getFault().getCode()).isEqualTo("InvalidResources"));
        assertThat(store.find(ID)).contains(before);
        assertThat(driver.guests(ID)).hasSize(1);
    }

    @Test
    void aHostWhoseDriverIsUnusableRefusesBootsWithHypervisorUnavailable() {
        driver.makeUnusable("/dev/kvm is missing and no QEMU is installed");

        String req = apply(ID, Command.BOOT);

        List<InstanceEvent> answer = events.forRequest(req);
        assertThat(states(answer)).containsExactly("BUILD/SPAWNING", "ERROR/NONE");
        assertThat(answer.get(1).getFault().getCode()).isEqualTo("HypervisorUnavailable");
        assertThat(answer.get(1).getFault().getMessage()).contains("/dev/kvm is missing");
        assertThat(driver.guests()).isEmpty();
        assertThat(store.find(ID).orElseThrow().holdsResources()).isFalse();
    }

    @Test
    void anUnusableHostSaysSoRatherThanJudgingSizes() {
        driver.makeUnusable("no hypervisor driver works on this host");
        // An unusable driver offers 0 vCPUs: judged by its capabilities, every size would be invalid.
        CommandEnvelope boot = envelope(ID, Command.BOOT).setBoot(boot(size(2, 1, 1))).build();

        handle(boot);

        List<InstanceEvent> answer = events.forRequest(boot.getRequestId());
        assertThat(answer.get(answer.size() - 1).getFault().getCode()).isEqualTo("HypervisorUnavailable");
    }

    // ---------------------------------------------------------------------------------------------
    // Guest exits the agent did not ask for

    @ParameterizedTest
    @EnumSource(value = GuestExit.Reason.class, names = {"POWER_OFF", "HALTED"})
    void aGuestThatPowersItselfOffIsShutOff(GuestExit.Reason reason) {
        succeeds(ID, Command.BOOT);
        long sequence = store.find(ID).orElseThrow().sequence();

        driver.lastGuest(ID).exit(reason, "ACPI S5");

        InstanceRecord rec = awaitRecord(ID, r -> r.state() == InstanceState.SHUTOFF);
        assertThat(rec.task()).isEqualTo(TaskState.NONE);
        assertThat(rec.power()).isEqualTo(PowerState.POWER_SHUTDOWN);
        assertThat(rec.sequence()).isEqualTo(sequence + 1);
        InstanceEvent e = lastEvent(ID);
        assertThat(e.getState() + "/" + e.getTaskState()).isEqualTo("SHUTOFF/NONE");
        assertThat(e.getRequestId()).isEmpty();
        assertThat(e.hasFault()).isFalse();
        assertThat(e.getSequence()).isEqualTo(sequence + 1);
        assertThat(guests.running(ID)).isEmpty();
        assertThat(driver.guests(ID)).hasSize(1);

        succeeds(ID, Command.START);
        assertGuestMatchesRecord(store.find(ID).orElseThrow());
    }

    @ParameterizedTest
    @EnumSource(value = GuestExit.Reason.class, names = {"RESET", "TRIPLE_FAULT"})
    void aGuestThatResetsIsBootedAgain(GuestExit.Reason reason) {
        succeeds(ID, Command.BOOT);
        FakeGuest first = driver.lastGuest(ID);
        InstanceRecord before = store.find(ID).orElseThrow();

        first.exit(reason, "guest-reset");

        await("a second guest of " + ID + " runs", () -> driver.guests(ID).size() == 2
                && guests.running(ID).map(g -> g.machine() == driver.lastGuest(ID)).orElse(false));
        assertThat(driver.lastGuest(ID).running()).isTrue();
        assertThat(driver.lastGuest(ID).spec().orElseThrow().vcpus()).isEqualTo(1);
        assertThat(store.find(ID)).contains(before);
    }

    @ParameterizedTest
    @EnumSource(value = WatchdogAction.class, names = {"WATCHDOG_NONE", "WATCHDOG_RESET", "WATCHDOG_POWEROFF",
            "WATCHDOG_PAUSE"})
    void aWatchdogFiringIsReportedWithItsActionAndCarriedOut(WatchdogAction action) {
        CommandEnvelope.Builder env = envelope(ID, Command.BOOT);
        env.getBootBuilder().setWatchdogAction(action);
        succeeds(ID, env);
        FakeGuest first = driver.lastGuest(ID);
        assertThat(first.spec().orElseThrow().watchdog()).as("the guest has the device").isTrue();

        first.fireWatchdog();

        await("the firing is published", () -> events.forInstance(ID).stream()
                .anyMatch(e -> e.getWatchdogFired() == action));
        InstanceEvent fired = lastEvent(ID);
        assertThat(fired.getWatchdogFired()).isEqualTo(action);
        assertThat(fired.getRequestId()).as("no command caused it").isEmpty();
        InstanceRecord rec = store.find(ID).orElseThrow();
        assertThat(fired.getSequence()).isEqualTo(rec.sequence());
        switch (action) {
            case WATCHDOG_RESET -> {
                assertThat(driver.guests(ID)).hasSize(2);
                assertThat(first.running()).isFalse();
                assertThat(guests.running(ID).map(g -> g.machine())).contains(driver.lastGuest(ID));
                assertThat(rec.state()).isEqualTo(InstanceState.ACTIVE);
            }
            case WATCHDOG_POWEROFF -> {
                assertThat(first.running()).isFalse();
                assertThat(guests.running(ID)).isEmpty();
                assertThat(rec.state()).isEqualTo(InstanceState.SHUTOFF);
                assertThat(rec.power()).isEqualTo(PowerState.POWER_SHUTDOWN);
            }
            case WATCHDOG_PAUSE -> {
                assertThat(first.paused()).isTrue();
                assertThat(rec.state()).isEqualTo(InstanceState.PAUSED);
                assertThat(fired.getPowerState()).isEqualTo(PowerState.POWER_PAUSED);
                // An operator lets it run again as after any pause.
                succeeds(ID, Command.UNPAUSE);
            }
            default -> {
                assertThat(first.running()).isTrue();
                assertThat(first.paused()).isFalse();
                assertThat(rec.state()).isEqualTo(InstanceState.ACTIVE);
            }
        }
        assertThat(handler.watchdogFirings(action)).isEqualTo(1);
    }

    @Test
    void aGuestWithoutAWatchdogActionHasNoDevice() {
        succeeds(ID, Command.BOOT);

        assertThat(driver.lastGuest(ID).spec().orElseThrow().watchdog()).isFalse();
    }

    @Test
    void aFiringOfAGuestTheHostStoppedChangesNothing() {
        CommandEnvelope.Builder env = envelope(ID, Command.BOOT);
        env.getBootBuilder().setWatchdogAction(WatchdogAction.WATCHDOG_POWEROFF);
        succeeds(ID, env);
        FakeGuest first = driver.lastGuest(ID);
        succeeds(ID, Command.HARD_REBOOT);
        int published = events.forInstance(ID).size();

        first.fireWatchdog();

        // The firing's thread has nothing to do: the newer guest runs on, nothing is published.
        await("the late firing is handled", () -> handler.watchdogFirings(WatchdogAction.WATCHDOG_POWEROFF) == 0
                && Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals(ID + "-watchdog")));
        assertThat(events.forInstance(ID)).hasSize(published);
        assertThat(driver.lastGuest(ID).running()).isTrue();
        assertThat(store.find(ID).orElseThrow().state()).isEqualTo(InstanceState.ACTIVE);
    }

    @Test
    void aDeleteThatWaitedWhileTheAgentWasAwayIsAppliedBeforeRecoveryAndItsGuestNeverStarts() throws Exception {
        succeeds(ID, Command.BOOT);
        succeeds("i-2", Command.BOOT);
        // The agent dies; its host is declared failed and ID is rebuilt elsewhere, whose Delete waits here.
        guests.detachAll();
        CommandEnvelope waiting = envelope(ID, Command.DELETE).build();
        startAgent();

        BacklogFence.Outcome fenced = BacklogFence.applyDeletes(List.of(waiting,
                envelope("i-unknown", Command.DELETE).build()), store, guests, handler::handle);
        new InstanceRecovery(store, guests, handler).recover(fenced.heldBack());

        assertThat(fenced.applied()).isEqualTo(1);
        assertThat(fenced.heldBack()).isEmpty();
        assertThat(driver.guests(ID)).as("never booted again").hasSize(1);
        assertThat(store.find(ID).orElseThrow().state()).isEqualTo(InstanceState.DELETED);
        assertThat(events.forRequest(waiting.getRequestId())).last()
                .satisfies(e -> assertThat(e.getState()).isEqualTo(InstanceState.DELETED));
        // Without a waiting delete, recovery boots the guest again as before.
        assertThat(driver.guests("i-2")).hasSize(2);
        assertThat(guests.running("i-2")).isPresent();
    }

    @Test
    void aWaitingDeleteThatFailsBeforeRecoveryKeepsItsGuestFromStarting() throws Exception {
        succeeds(ID, Command.BOOT);
        succeeds("i-2", Command.BOOT);
        guests.detachAll();
        CommandEnvelope waiting = envelope(ID, Command.DELETE).build();
        startAgent();

        // The store or the bus fails as the delete is applied: the command loop will apply it again.
        BacklogFence.Outcome fenced = BacklogFence.applyDeletes(List.of(waiting), store, guests, env -> {
            throw new IllegalStateException("the agent's store cannot be written");
        });
        new InstanceRecovery(store, guests, handler).recover(fenced.heldBack());

        assertThat(fenced.applied()).isZero();
        assertThat(fenced.heldBack()).containsExactly(ID);
        assertThat(driver.guests(ID)).as("never booted again").hasSize(1);
        assertThat(guests.running(ID)).isEmpty();
        assertThat(guests.running("i-2")).isPresent();
        // The loop's redelivery then deletes it.
        handler.handle(waiting);
        assertThat(store.find(ID).orElseThrow().state()).isEqualTo(InstanceState.DELETED);
    }

    @Test
    void aGuestThatResetsButCannotBootAgainEndsInError() {
        succeeds(ID, Command.BOOT);
        driver.failNextSpawn("HypervisorError", "out of memory");

        driver.lastGuest(ID).exit(GuestExit.Reason.RESET, "guest-reset");

        InstanceRecord rec = awaitRecord(ID, r -> r.state() == InstanceState.ERROR);
        assertThat(rec.fault()).map(f -> f.getCode()).contains("HypervisorError");
        assertThat(rec.power()).isEqualTo(PowerState.POWER_SHUTDOWN);
        assertThat(lastEvent(ID).getFault().getCode()).isEqualTo("HypervisorError");
        assertThat(guests.running(ID)).isEmpty();
    }

    @Test
    void aGuestThatCrashesIsInErrorWithGuestCrashedAndCanBeStartedAgain() {
        succeeds(ID, Command.BOOT);

        driver.lastGuest(ID).exit(GuestExit.Reason.CRASH, "pvpanic: guest panicked");

        InstanceRecord rec = awaitRecord(ID, r -> r.state() == InstanceState.ERROR);
        assertThat(rec.power()).isEqualTo(PowerState.POWER_CRASHED);
        assertThat(rec.fault()).map(f -> f.getCode()).contains("GuestCrashed");
        InstanceEvent e = lastEvent(ID);
        assertThat(e.getState() + "/" + e.getTaskState()).isEqualTo("ERROR/NONE");
        assertThat(e.getFault().getCode()).isEqualTo("GuestCrashed");
        assertThat(e.getFault().getMessage()).contains("pvpanic");
        assertThat(e.getPowerState()).isEqualTo(PowerState.POWER_CRASHED);
        assertThat(guests.running(ID)).isEmpty();
        assertThat(rec.holdsResources()).as("a launched instance in ERROR keeps its share").isTrue();

        String stop = apply(ID, Command.STOP);
        assertThat(states(events.forRequest(stop))).containsExactly("ERROR/POWERING_OFF", "SHUTOFF/NONE");
        succeeds(ID, Command.START);
        InstanceRecord started = store.find(ID).orElseThrow();
        assertThat(started.fault()).isEmpty();
        assertGuestMatchesRecord(started);
    }

    @Test
    void anInstanceStoppedFromErrorCarriesNoOldFault() {
        succeeds(ID, Command.BOOT);
        driver.lastGuest(ID).exit(GuestExit.Reason.CRASH, "pvpanic: guest panicked");
        awaitRecord(ID, r -> r.state() == InstanceState.ERROR);

        String stop = apply(ID, Command.STOP);
        assertThat(events.forRequest(stop).get(1).hasFault()).as("the stop's answer has a fault").isFalse();
        assertThat(store.find(ID).orElseThrow().fault()).isEmpty();

        String resize = apply(ID, Command.RESIZE);
        assertThat(events.forRequest(resize)).hasSize(3).noneMatch(InstanceEvent::hasFault);
    }

    @Test
    void bootsOfDifferentInstancesAtOnceNeverTogetherTakeMoreThanTheHostHas() throws Exception {
        // Eight boots of 2 vCPUs each race for a host of 8: four fit.
        List<CommandEnvelope> boots = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            boots.add(envelope("i-" + i, Command.BOOT).setBoot(boot(size(2, 256, 1))).build());
        }
        ExecutorService callers = Executors.newFixedThreadPool(boots.size());
        try {
            List<Future<?>> done = new ArrayList<>();
            CountDownLatch go = new CountDownLatch(1);
            for (CommandEnvelope b : boots) {
                done.add(callers.submit(() -> {
                    go.await();
                    handler.handle(b);
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(10, TimeUnit.SECONDS);
            }
        } finally {
            callers.shutdownNow();
        }

        long active = store.all().stream().filter(r -> r.state() == InstanceState.ACTIVE).count();
        long refused = boots.stream().map(b -> events.forRequest(b.getRequestId()))
                .filter(answer -> answer.size() == 1
                        && answer.get(0).getFault().getCode().equals("InsufficientResources"))
                .count();
        assertThat(active).isEqualTo(4);
        assertThat(refused).isEqualTo(4);
        assertThat(driver.guests()).hasSize(4);
    }

    @Test
    void aGuestTheHypervisorCannotRunOnIsInErrorWithHypervisorError() {
        succeeds(ID, Command.BOOT);

        driver.lastGuest(ID).exit(GuestExit.Reason.FAILED, "KVM_EXIT_INTERNAL_ERROR");

        InstanceRecord rec = awaitRecord(ID, r -> r.state() == InstanceState.ERROR);
        assertThat(rec.fault()).map(f -> f.getCode()).contains("HypervisorError");
    }

    @Test
    void aPausedGuestThatCrashesIsInError() {
        succeeds(ID, Command.BOOT);
        succeeds(ID, Command.PAUSE);

        driver.lastGuest(ID).exit(GuestExit.Reason.FAILED, "the VMM failed");

        awaitRecord(ID, r -> r.state() == InstanceState.ERROR);
        succeeds(ID, Command.HARD_REBOOT);
        assertGuestMatchesRecord(store.find(ID).orElseThrow());
    }

    @Test
    void aGuestThatPowersOffWhileItsResizeAwaitsConfirmationCanStillBeConfirmed() {
        succeeds(ID, Command.BOOT);
        succeeds(ID, Command.RESIZE);

        driver.lastGuest(ID).exit(GuestExit.Reason.POWER_OFF, "ACPI S5");
        await("the guest of " + ID + " has ended", () -> guests.running(ID).isEmpty());
        awaitRecord(ID, r -> r.power() == PowerState.POWER_SHUTDOWN);

        String confirm = apply(ID, Command.CONFIRM_RESIZE);
        assertThat(states(events.forRequest(confirm))).containsExactly("VERIFY_RESIZE/RESIZE_CONFIRMING",
                "SHUTOFF/NONE");
        InstanceRecord rec = store.find(ID).orElseThrow();
        assertThat(rec.previousResources()).isEmpty();
        assertThat(rec.resources()).isEqualTo(LARGE);
    }

    // ---------------------------------------------------------------------------------------------
    // Migration commands answered on the migration's stream, not the bus

    @Test
    void aPrepareForAnInstanceAlreadyHereIsRefusedOnTheStreamAndChangesNothing() {
        succeeds(ID, Command.BOOT);
        InstanceRecord before = store.find(ID).orElseThrow();
        int published = events.all().size();

        CommandEnvelope prepare = prepare(ID, "m-1");
        handle(prepare);

        assertThat(events.all()).hasSize(published);
        assertThat(store.appliedEvents(prepare.getRequestId())).contains(List.of());
        assertThat(store.find(ID)).contains(before);
        assertThat(driver.guests(ID)).hasSize(1);
        assertThat(driver.lastGuest(ID).running()).isTrue();
    }

    @Test
    void anAbortOfAnUnknownMigrationIsAppliedWithoutEvents() {
        CommandEnvelope abort = envelope(ID, Command.BOOT).clearBoot()
                .setAbortMigration(AbortMigration.newBuilder().setMigrationId("m-unknown")).build();

        handle(abort);

        assertThat(events.all()).isEmpty();
        assertThat(store.appliedEvents(abort.getRequestId())).contains(List.of());
    }

    @Test
    void anAbortOfARefusedMigrationLeavesTheInstanceThatLivesHereRunning() {
        succeeds(ID, Command.BOOT);
        handle(prepare(ID, "m-1"));
        InstanceRecord before = store.find(ID).orElseThrow();

        handle(envelope(ID, Command.BOOT).clearBoot()
                .setAbortMigration(AbortMigration.newBuilder().setMigrationId("m-1")).build());

        assertThat(driver.lastGuest(ID).running()).isTrue();
        assertThat(guests.running(ID)).isPresent();
        assertThat(guests.instanceDir(ID).resolve(FakeDriver.GUEST_FILE)).exists();
        assertThat(store.find(ID)).contains(before);
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers

    private CommandEnvelope prepare(String id, String migrationId) {
        return envelope(id, Command.BOOT).clearBoot().setPrepareMigrationTarget(PrepareMigrationTarget.newBuilder()
                .setMigrationId(migrationId).setSourceHost("host-b").setInstance(boot(SMALL)).setToken("secret"))
                .build();
    }

    private static Timestamp timestamp(Instant t) {
        return ProtoTime.timestamp(t);
    }

    private static Instant instant(Timestamp t) {
        return ProtoTime.instant(t);
    }

    // ---------------------------------------------------------------------------------------------
    // Rebuild and images of instances (instances with a disk)

    /** Places raw image {@code id} in the test's image directory; returns its bytes. */
    private byte[] diskImage(String id, int fill) throws Exception {
        byte[] data = new byte[8192];
        Arrays.fill(data, (byte) fill);
        Files.write(dir.resolve("images").resolve(id), data);
        return data;
    }

    private static BootSource withDisk(String imageId) {
        return BootSource.newBuilder().setKernelImageId(KERNEL).setKernelCmdline("console=ttyS0").setImageId(imageId)
                .build();
    }

    private String bootWithDisk(String id, String imageId) {
        return succeeds(id, envelope(id, Command.BOOT).setBoot(boot(SMALL).toBuilder().setSource(withDisk(imageId))));
    }

    /** The raw image under the instance's qcow2 layer, as the layer names it. */
    private static byte[] baseOf(Path disk) throws Exception {
        try (io.stratus.kvm.virtio.block.DiskImage image = io.stratus.kvm.virtio.block.DiskImage.open(disk, true)) {
            return Files.readAllBytes(((io.stratus.kvm.virtio.block.Qcow2Image) image).backingFile().orElseThrow());
        }
    }

    @Test
    void aRebuildReplacesTheDiskWithAFreshLayerOverTheNewImageAndBootsFromIt() throws Exception {
        diskImage("disk-1", 1);
        byte[] second = diskImage("disk-2", 2);
        bootWithDisk(ID, "disk-1");
        FakeGuest first = driver.lastGuest(ID);
        Path disk = first.spec().orElseThrow().disks().get(0).path();
        // What the guest wrote to its disk: a rebuild leaves none of it.
        Files.write(disk.resolveSibling("marker"), new byte[] {1});
        // A mark on the old layer itself (an inode number may be reused by the new file).
        byte[] mark = UUID.randomUUID().toString().getBytes(StandardCharsets.US_ASCII);
        Files.write(disk, mark, StandardOpenOption.APPEND);

        String req = succeeds(ID, envelope(ID, Command.REBUILD).setRebuild(Rebuild.newBuilder()
                .setSource(withDisk("disk-2")).setName("web-2").setReplaceMetadata(true).putMetadata("k", "v")));

        assertThat(states(events.forRequest(req))).containsExactly("REBUILD/REBUILDING", "REBUILD/REBUILD_SPAWNING",
                "ACTIVE/NONE");
        assertThat(first.running()).isFalse();
        FakeGuest now = driver.lastGuest(ID);
        assertThat(now).isNotSameAs(first);
        assertThat(now.running()).isTrue();
        Path newDisk = now.spec().orElseThrow().disks().get(0).path();
        assertThat(newDisk).isEqualTo(disk);
        byte[] layer = Files.readAllBytes(newDisk);
        assertThat(Arrays.copyOfRange(layer, Math.max(0, layer.length - mark.length), layer.length)).as("a new layer")
                .isNotEqualTo(mark);
        assertThat(baseOf(newDisk)).isEqualTo(second);
        InstanceRecord rec = store.find(ID).orElseThrow();
        assertThat(rec.name()).isEqualTo("web-2");
        assertThat(rec.boot().getSource().getImageId()).isEqualTo("disk-2");
        assertThat(rec.boot().getMetadataMap()).containsExactly(Map.entry("k", "v"));
        assertGuestMatchesRecord(rec);
    }

    @Test
    void aStoppedInstanceIsRebuiltStoppedAndBootsTheNewImageWhenStarted() throws Exception {
        diskImage("disk-1", 1);
        byte[] second = diskImage("disk-2", 2);
        bootWithDisk(ID, "disk-1");
        succeeds(ID, Command.STOP);
        int guestsBefore = driver.guests(ID).size();

        succeeds(ID, envelope(ID, Command.REBUILD).setRebuild(Rebuild.newBuilder().setSource(withDisk("disk-2"))));

        assertThat(store.find(ID).orElseThrow().state()).isEqualTo(InstanceState.SHUTOFF);
        assertThat(driver.guests(ID)).hasSize(guestsBefore);
        succeeds(ID, Command.START);
        assertThat(baseOf(driver.lastGuest(ID).spec().orElseThrow().disks().get(0).path())).isEqualTo(second);
    }

    @Test
    void aRebuildOntoAMissingImageLeavesTheInstanceInErrorWithTheReason() throws Exception {
        diskImage("disk-1", 1);
        bootWithDisk(ID, "disk-1");

        CommandEnvelope bad = envelope(ID, Command.REBUILD).setRebuild(Rebuild.newBuilder()
                .setSource(withDisk("gone"))).build();
        handle(bad);

        List<InstanceEvent> answer = events.forRequest(bad.getRequestId());
        assertThat(states(answer)).containsExactly("REBUILD/REBUILDING", "REBUILD/REBUILD_SPAWNING", "ERROR/NONE");
        assertThat(answer.get(2).getFault().getCode()).isEqualTo("ImageNotFound");
        assertGuestMatchesRecord(store.find(ID).orElseThrow());
    }

    @Test
    void anImageOfARunningInstanceIsItsDiskCopiedWhileThePausedGuestWaitsThenUploaded() throws Exception {
        diskImage("disk-1", 1);
        bootWithDisk(ID, "disk-1");
        FakeGuest guest = driver.lastGuest(ID);
        Path disk = guest.spec().orElseThrow().disks().get(0).path();

        String req = succeeds(ID, envelope(ID, Command.CREATE_IMAGE));

        List<InstanceEvent> answer = events.forRequest(req);
        assertThat(states(answer)).containsExactly("ACTIVE/IMAGE_SNAPSHOT", "ACTIVE/IMAGE_UPLOADING", "ACTIVE/NONE");
        assertThat(answer.get(2).getImageId()).isEqualTo("snap-1");
        assertThat(Files.readString(dir.resolve("images").resolve("snap-1")))
                .isEqualTo(FakeDriver.exportOf(disk, GuestSpec.Format.QCOW2));
        assertThat(driver.exportsWhilePaused()).containsExactly(true);
        assertThat(guest.pauses()).isEqualTo(1);
        assertThat(guest.resumes()).isEqualTo(1);
        assertThat(guest.paused()).isFalse();
        assertThat(driver.guests(ID)).containsExactly(guest);
        try (Stream<Path> left = Files.list(disk.getParent())) {
            assertThat(left.map(p -> p.getFileName().toString())).as("no copy left behind")
                    .noneMatch(n -> n.startsWith("image-"));
        }
        assertGuestMatchesRecord(store.find(ID).orElseThrow());
    }

    @Test
    void anImageOfAPausedInstanceLeavesItPaused() throws Exception {
        diskImage("disk-1", 1);
        bootWithDisk(ID, "disk-1");
        succeeds(ID, Command.PAUSE);
        FakeGuest guest = driver.lastGuest(ID);

        succeeds(ID, envelope(ID, Command.CREATE_IMAGE));

        assertThat(guest.paused()).isTrue();
        assertThat(guest.resumes()).isZero();
        assertThat(store.find(ID).orElseThrow().state()).isEqualTo(InstanceState.PAUSED);
        assertThat(dir.resolve("images").resolve("snap-1")).exists();
    }

    @Test
    void aRefusedImageNamesItsImageSoThatTheSchedulerDeletesIt() {
        bringTo(Setup.VERIFY_RESIZE_RUNNING, ID);

        String req = apply(ID, Command.CREATE_IMAGE);

        assertThat(events.forRequest(req)).singleElement().satisfies(e -> {
            assertThat(e.getFault().getCode()).isEqualTo("InstanceInvalidState");
            assertThat(e.getImageId()).isEqualTo("snap-1");
        });
        String gone = apply("i-unknown", Command.CREATE_IMAGE);
        assertThat(events.forRequest(gone)).singleElement().satisfies(e -> assertThat(e.getImageId())
                .isEqualTo("snap-1"));
    }

    @Test
    void aFailedImageLeavesTheInstanceAsItWasAndNamesTheImageInTheFault() throws Exception {
        diskImage("disk-1", 1);
        bootWithDisk(ID, "disk-1");
        FakeGuest guest = driver.lastGuest(ID);
        InstanceRecord before = store.find(ID).orElseThrow();
        driver.failNextExport("HypervisorError", "qemu-img convert failed");

        String req = apply(ID, Command.CREATE_IMAGE);

        List<InstanceEvent> answer = events.forRequest(req);
        assertThat(states(answer)).containsExactly("ACTIVE/IMAGE_SNAPSHOT", "ACTIVE/NONE");
        assertThat(answer.get(1).getFault().getCode()).isEqualTo("HypervisorError");
        assertThat(answer.get(1).getImageId()).isEqualTo("snap-1");
        InstanceRecord after = store.find(ID).orElseThrow();
        assertThat(after.state()).isEqualTo(InstanceState.ACTIVE);
        assertThat(after.fault()).isEqualTo(before.fault());
        assertThat(guest.running()).isTrue();
        assertThat(dir.resolve("images").resolve("snap-1")).doesNotExist();
        // The next command runs as if nothing had happened.
        succeeds(ID, Command.PAUSE);
    }

    // ---------------------------------------------------------------------------------------------
    // Volumes

    private static final String NBD = "nbd+unix:///vol-1?socket=/run/stratus/nbd-vol-1.sock";

    private static VolumeAttachment volume(String volumeId, String attachmentId) {
        return VolumeAttachment.newBuilder().setVolumeId(volumeId).setAttachmentId(attachmentId).setNbdUri(NBD)
                .setSizeBytes(1 << 20).setDevice("/dev/vdb").build();
    }

    private CommandEnvelope.Builder attach(VolumeAttachment v) {
        return envelope(ID, Command.START).setAttachVolume(AttachVolume.newBuilder().setVolume(v));
    }

    private CommandEnvelope.Builder detach(String volumeId, String attachmentId) {
        return envelope(ID, Command.START).setDetachVolume(DetachVolume.newBuilder().setVolumeId(volumeId)
                .setAttachmentId(attachmentId));
    }

    private void attachingHost() {
        driver.capabilities(new DriverCapabilities("fake", "fake", "1.0", Set.of(DriverCapabilities.Traits.VOLUME_ATTACH),
                8, 64, false, Optional.empty()));
    }

    private InstanceEvent answer(CommandEnvelope.Builder env) {
        CommandEnvelope e = env.build();
        handle(e);
        List<InstanceEvent> answer = events.forRequest(e.getRequestId());
        assertThat(answer).singleElement();
        return answer.get(0);
    }

    private List<String> recordedAttachments() {
        return store.find(ID).orElseThrow().boot().getVolumesList().stream().map(VolumeAttachment::getAttachmentId)
                .toList();
    }

    @Test
    void aVolumeAttachedToARunningGuestFillsASlotAndIsRecordedWithTheStateUnchanged() {
        attachingHost();
        bringTo(Setup.ACTIVE, ID);
        FakeGuest guest = driver.lastGuest(ID);

        InstanceEvent e = answer(attach(volume("vol-1", "att-1")));

        assertThat(e.hasFault()).as("fault %s", e.getFault()).isFalse();
        assertThat(e.getVolumeId()).isEqualTo("vol-1");
        assertThat(e.getState() + "/" + e.getTaskState()).isEqualTo("ACTIVE/NONE");
        assertThat(guest.volumes()).containsOnlyKeys("att-1");
        assertThat(guest.volumes().get("att-1").serial()).isEqualTo("vol-1");
        assertThat(guest.volumes().get("att-1").export().socket()).hasValue(Path.of("/run/stratus/nbd-vol-1.sock"));
        assertThat(recordedAttachments()).containsExactly("att-1");
    }

    @Test
    void anAttachmentAttachedAgainUnderAnotherRequestIsNotAttachedTwice() {
        attachingHost();
        bringTo(Setup.ACTIVE, ID);
        FakeGuest guest = driver.lastGuest(ID);
        CommandEnvelope first = attach(volume("vol-1", "att-1")).build();
        handle(first);

        handle(first);
        InstanceEvent again = answer(attach(volume("vol-1", "att-1")));

        assertThat(again.hasFault()).isFalse();
        assertThat(guest.attaches()).isEqualTo(1);
        assertThat(recordedAttachments()).containsExactly("att-1");
        assertThat(events.forRequest(first.getRequestId())).hasSize(2);
    }

    @Test
    void aVolumeAttachedToAStoppedInstanceIsInItsGuestWhenItStarts() {
        attachingHost();
        bringTo(Setup.SHUTOFF, ID);
        int guestsBefore = driver.guests(ID).size();

        InstanceEvent e = answer(attach(volume("vol-1", "att-1")));
        succeeds(ID, Command.START);

        assertThat(e.hasFault()).isFalse();
        assertThat(e.getState()).isEqualTo(InstanceState.SHUTOFF);
        assertThat(driver.guests(ID)).hasSize(guestsBefore + 1);
        GuestSpec spec = driver.lastGuest(ID).spec().orElseThrow();
        assertThat(spec.slotVolumes()).extracting(GuestSpec.Volume::attachmentId).containsExactly("att-1");
        assertThat(spec.volumeSlots()).isEqualTo(GuestSupervisor.VOLUME_SLOTS);
    }

    @Test
    void anAttachTheDriverCannotCompleteIsAnsweredWithItsFaultAndRecordsNothing() {
        attachingHost();
        bringTo(Setup.PAUSED, ID);
        driver.failNextAttach("VolumeUnreachable", "nothing listens on the export's socket");

        InstanceEvent e = answer(attach(volume("vol-1", "att-1")));

        assertThat(e.getFault().getCode()).isEqualTo("VolumeUnreachable");
        assertThat(e.getVolumeId()).isEqualTo("vol-1");
        assertThat(e.getState()).isEqualTo(InstanceState.PAUSED);
        assertThat(recordedAttachments()).isEmpty();
        assertThat(driver.lastGuest(ID).running()).isTrue();
    }

    @Test
    void anAttachWhoseAddressIsNoNbdUriIsRefusedWithVolumeUnusable() {
        attachingHost();
        bringTo(Setup.ACTIVE, ID);

        InstanceEvent e = answer(attach(volume("vol-1", "att-1").toBuilder().setNbdUri("iscsi://10.0.0.1/lun0")
                .build()));

        assertThat(e.getFault().getCode()).isEqualTo("VolumeUnusable");
        assertThat(driver.lastGuest(ID).volumes()).isEmpty();
        assertThat(recordedAttachments()).isEmpty();
    }

    @Test
    void anAttachOnAHostWhoseDriverCannotAttachIsRefusedWithNotSupported() {
        bringTo(Setup.ACTIVE, ID);

        InstanceEvent e = answer(attach(volume("vol-1", "att-1")));

        assertThat(e.getFault().getCode()).isEqualTo("NotSupported");
        assertThat(recordedAttachments()).isEmpty();
    }

    @Test
    void anAttachBeyondTheGuestsSlotsIsRefusedWithNoFreeDiskSlot() {
        attachingHost();
        bringTo(Setup.ACTIVE, ID);
        for (int i = 0; i < GuestSupervisor.VOLUME_SLOTS; i++) {
            assertThat(answer(attach(volume("vol-" + i, "att-" + i))).hasFault()).isFalse();
        }

        InstanceEvent e = answer(attach(volume("vol-x", "att-x")));

        assertThat(e.getFault().getCode()).isEqualTo("NoFreeDiskSlot");
        assertThat(recordedAttachments()).hasSize(GuestSupervisor.VOLUME_SLOTS);
    }

    @Test
    void anAttachWhileAResizeAwaitsConfirmationIsRefusedWithInstanceInvalidState() {
        attachingHost();
        bringTo(Setup.VERIFY_RESIZE_RUNNING, ID);

        InstanceEvent e = answer(attach(volume("vol-1", "att-1")));

        assertThat(e.getFault().getCode()).isEqualTo("InstanceInvalidState");
        assertThat(e.getVolumeId()).isEqualTo("vol-1");
    }

    @Test
    void aDetachEmptiesTheSlotAndTheRecordKeepsTheOtherVolumes() {
        attachingHost();
        bringTo(Setup.ACTIVE, ID);
        FakeGuest guest = driver.lastGuest(ID);
        answer(attach(volume("vol-1", "att-1")));
        answer(attach(volume("vol-2", "att-2")));

        InstanceEvent e = answer(detach("vol-1", "att-1"));

        assertThat(e.hasFault()).isFalse();
        assertThat(e.getVolumeId()).isEqualTo("vol-1");
        assertThat(e.getState()).isEqualTo(InstanceState.ACTIVE);
        assertThat(guest.volumes()).containsOnlyKeys("att-2");
        assertThat(guest.detaches()).isEqualTo(1);
        assertThat(recordedAttachments()).containsExactly("att-2");
    }

    @Test
    void aDetachOfAVolumeTheInstanceDoesNotHaveIsRefusedWithVolumeNotAttached() {
        attachingHost();
        bringTo(Setup.ACTIVE, ID);
        answer(attach(volume("vol-1", "att-1")));

        InstanceEvent e = answer(detach("vol-9", "att-9"));

        assertThat(e.getFault().getCode()).isEqualTo("VolumeNotAttached");
        assertThat(e.getVolumeId()).isEqualTo("vol-9");
        assertThat(recordedAttachments()).containsExactly("att-1");
    }

    @Test
    void aVolumeDetachedFromAStoppedInstanceIsNotInItsNextGuest() {
        attachingHost();
        bringTo(Setup.ACTIVE, ID);
        answer(attach(volume("vol-1", "att-1")));
        succeeds(ID, Command.STOP);

        assertThat(answer(detach("vol-1", "att-1")).hasFault()).isFalse();
        succeeds(ID, Command.START);

        assertThat(driver.lastGuest(ID).spec().orElseThrow().volumes()).isEmpty();
    }

    @Test
    void aLiveMigrationOfAGuestWithVolumesIsRefusedAndTheGuestRunsOn() {
        attachingHost();
        bringTo(Setup.ACTIVE, ID);
        answer(attach(volume("vol-1", "att-1")));

        InstanceEvent e = answer(envelope(ID, Command.LIVE_MIGRATE));

        assertThat(e.getFault().getCode()).isEqualTo("NotSupported");
        assertThat(e.getFault().getMessage()).contains("volumes");
        assertThat(driver.lastGuest(ID).running()).isTrue();
        assertThat(store.find(ID).orElseThrow().state()).isEqualTo(InstanceState.ACTIVE);
    }

    private static Resources size(int vcpus, long memoryMib, long diskGib) {
        return Resources.newBuilder().setVcpus(vcpus).setMemoryMib(memoryMib).setDiskGib(diskGib).build();
    }

    private static Boot boot(Resources resources) {
        return Boot.newBuilder().setName("web-1").setFlavor("m1.small").setResources(resources)
                .setSource(BootSource.newBuilder().setKernelImageId(KERNEL).setKernelCmdline("console=ttyS0"))
                .build();
    }

    private CommandEnvelope.Builder envelope(String id, Command command) {
        CommandEnvelope.Builder b = CommandEnvelope.newBuilder().setRequestId("req-" + requests.incrementAndGet())
                .setInstanceId(id).setTenantId(TENANT).setIssuedAt(timestamp(NOW));
        command.payload.accept(b);
        return b;
    }

    /** Handles the envelope and waits for its answer (moves end on a worker thread). */
    private void handle(CommandEnvelope env) {
        handler.handle(env);
        // A move's answer is recorded, then published, on a worker thread: both are awaited.
        await("request " + env.getRequestId() + " is answered", () -> store.appliedEvents(env.getRequestId())
                .map(recorded -> events.forRequest(env.getRequestId()).containsAll(recorded)).orElse(false));
    }

    /** Applies {@code command} to instance {@code id}; returns the request id. */
    private String apply(String id, Command command) {
        CommandEnvelope env = envelope(id, command).build();
        handle(env);
        return env.getRequestId();
    }

    /** Applies the command and checks that it ended without a fault; returns the request id. */
    private String succeeds(String id, Command command) {
        return succeeds(id, envelope(id, command));
    }

    private String succeeds(String id, CommandEnvelope.Builder env) {
        CommandEnvelope e = env.build();
        handle(e);
        List<InstanceEvent> answer = events.forRequest(e.getRequestId());
        assertThat(answer).as("events of %s", e.getCommandCase()).isNotEmpty();
        assertThat(answer.get(answer.size() - 1).hasFault()).as("%s ended with %s", e.getCommandCase(),
                answer.get(answer.size() - 1).getFault()).isFalse();
        return e.getRequestId();
    }

    private InstanceEvent lastEvent(String id) {
        List<InstanceEvent> all = events.forInstance(id);
        return all.get(all.size() - 1);
    }

    private static List<String> states(List<InstanceEvent> events) {
        List<String> out = new ArrayList<>();
        for (InstanceEvent e : events) {
            out.add(e.getState() + "/" + e.getTaskState());
        }
        return out;
    }

    private InstanceRecord awaitRecord(String id, Predicate<InstanceRecord> condition) {
        await("instance " + id + " reaches the expected record", () -> store.find(id).filter(condition).isPresent());
        return store.find(id).orElseThrow();
    }

    /** Guest exits are handled on the supervisor's watcher threads: polls briefly for their outcome. */
    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting until " + what, e);
            }
        }
    }
}
