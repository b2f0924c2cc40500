package io.stratus.agent.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.guest.RecordingPlugs;
import io.stratus.agent.image.DirectorySource;
import io.stratus.agent.image.ImageCache;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.telemetry.MigrationMeters;
import io.stratus.agent.virt.kvm.KvmDriver;
import io.stratus.agent.virt.kvm.KvmIncoming;
import io.stratus.kvm.testing.RequiresKvm;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.MigrationHello;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
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
        return new MigrationTargets("target-host", new GuestSupervisor(null, null, new RecordingPlugs(), dir, 4096), workers,
                Clock.systemUTC(), Duration.ofSeconds(5), new MigrationMeters(new SimpleMeterRegistry(), "target-host"));
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
    /**
     * The scheduler aborts a move (its server was deleted) while the target still prepares it:
     * what the preparation builds goes when it ends, not before, and no source is admitted; an
     * abort after the preparation discards at once. The NIC's unplug shows the discard.
     */
    @Test
    void anAbortWhileTheTargetPreparesDiscardsWhatThePreparationBuilt() {
        java.util.List<Runnable> queued = new java.util.ArrayList<>();
        RecordingPlugs plugs = new RecordingPlugs();
        MigrationTargets t = new MigrationTargets("target-host", new GuestSupervisor(null, null, plugs, dir, 4096),
                queued::add, Clock.systemUTC(), Duration.ofSeconds(5),
                new MigrationMeters(new SimpleMeterRegistry(), "target-host"));
        InstanceRecord rec = withNic(record("i-1"), "tap-early");
        t.prepare("m-1", "secret", "source-host", rec, true, false);
        t.abort("m-1");
        assertThat(plugs.calls()).as("still being prepared: nothing is discarded yet").isEmpty();
        queued.remove(0).run();
        assertThat(plugs.calls()).containsExactly("unplug tap-early");
        assertThat(refusal(t, hello("m-1", "i-1", "secret"))).isEqualTo(Status.Code.NOT_FOUND);

        InstanceRecord late = withNic(record("i-2"), "tap-late");
        t.prepare("m-2", "secret", "source-host", late, true, false);
        queued.remove(0).run();
        t.abort("m-2");
        assertThat(plugs.calls()).containsExactly("unplug tap-early", "unplug tap-late");
        assertThat(refusal(t, hello("m-2", "i-2", "secret"))).isEqualTo(Status.Code.NOT_FOUND);
    }

    private static InstanceRecord withNic(InstanceRecord rec, String tap) {
        Boot boot = rec.boot().toBuilder().addNetworks(io.stratus.proto.v1.NetworkInterface.newBuilder()
                .setPortId("port-" + tap).setTap(tap).setMac("fa:16:3e:00:00:01")).build();
        return new InstanceRecord(rec.id(), rec.tenantId(), rec.name(), rec.state(), rec.task(),
                rec.power(), rec.resources(), Optional.empty(), boot, Optional.empty(), Optional.empty(), 0, false,
                Optional.empty());
    }

    /**
     * A source's guest booted before its host gave guests entropy devices has none: the target
     * builds its prepared VM again without one (the engine refuses a target whose devices
     * differ); a guest that has one finds the prepared VM as it is.
     */
    @Test
    @RequiresKvm
    void theTargetsVmHasTheDevicesOfTheSourcesGuest() throws Exception {
        Path images = Files.createDirectories(dir.resolve("images"));
        Files.copy(Path.of(System.getProperty("stratus.testGuests"), "instance.elf"), images.resolve("instance"));
        ImageCache cache = new ImageCache(dir.resolve("cache"), new DirectorySource(images), 1L << 30, Set::of,
                Clock.systemUTC());
        MigrationTargets t = new MigrationTargets("target-host", new GuestSupervisor(
                KvmDriver.probe(Path.of("/dev/kvm"), OptionalLong.empty()).driver().orElseThrow(), cache,
                new RecordingPlugs(), dir.resolve("instances"), 4096), workers, Clock.systemUTC(), Duration.ofSeconds(5),
                new MigrationMeters(new SimpleMeterRegistry(), "target-host"));
        t.prepare("m-old", "secret", "source-host", bootable("i-old"));
        t.prepare("m-new", "secret", "source-host", bootable("i-new"));

        VirtualMachine old = ((KvmIncoming) admitWhenReady(t, hello("m-old", "i-old", "secret").toBuilder()
                .setEntropyDevice(false).build()).guest()).vm();
        VirtualMachine current = ((KvmIncoming) admitWhenReady(t, hello("m-new", "i-new", "secret").toBuilder()
                .setEntropyDevice(true).build()).guest()).vm();
        try {
            assertThat(old.entropy()).as("built again, without the device").isEmpty();
            assertThat(old.state()).isEqualTo(VirtualMachine.State.CREATED);
            assertThat(current.entropy()).isPresent();
        } finally {
            old.close();
            current.close();
        }
    }

    private static InstanceRecord bootable(String id) {
        Boot boot = Boot.newBuilder().setName("vm").setResources(Resources.newBuilder().setVcpus(1).setMemoryMib(64))
                .setSource(BootSource.newBuilder().setKernelImageId("instance")).build();
        return new InstanceRecord(id, "project", "vm", InstanceState.ACTIVE, TaskState.NONE,
                PowerState.POWER_RUNNING, boot.getResources(), Optional.empty(), boot, Optional.empty(),
                Optional.empty(), 0, false, Optional.empty());
    }

    /** Admits the Hello once the target has prepared the migration (it is refused as UNAVAILABLE until then). */
    private static MigrationTargets.Claimed admitWhenReady(MigrationTargets t, MigrationHello hello)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                return t.admit(hello);
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
    }
}
