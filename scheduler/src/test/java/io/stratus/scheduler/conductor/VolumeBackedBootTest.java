package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.proto.v1.VolumeAttachment;
import io.stratus.scheduler.compute.Server;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A server booted from a volume, as the conductor places it: it waits while its volumes are made,
 * goes to ERROR when one cannot be, and otherwise boots with an empty source, its root volume and
 * no local disk; its volumes are attached once it runs. The volume service is a stand-in here
 * ({@code BootVolumesTest} has the real one).
 */
class VolumeBackedBootTest {
    /** The volume service's side as the conductor sees it, set by each test. */
    private static final class Volumes implements ServerVolumes {
        Optional<Unready> unready = Optional.empty();
        final List<String> booted = new ArrayList<>();
        final List<String> letGo = new ArrayList<>();

        @Override
        public List<VolumeAttachment> forBoot(String serverId, String host) {
            return List.of(VolumeAttachment.newBuilder().setVolumeId("vol-root").setAttachmentId("att-1")
                    .setNbdUri("nbd://10.0.0.1:10809").setBoot(true).setDevice("/dev/vda").build());
        }

        @Override
        public void answered(InstanceEvent e) {
        }

        @Override
        public void serverDeleted(String serverId) {
            letGo.add(serverId);
        }

        @Override
        public boolean any(String serverId) {
            return true;
        }

        @Override
        public void moved(String serverId, String host) {
        }

        @Override
        public void fence(String serverId) {
        }

        @Override
        public Optional<Unready> unready(String serverId) {
            return unready;
        }

        @Override
        public void booted(String serverId) {
            booted.add(serverId);
        }
    }

    private final Volumes volumes = new Volumes();
    private final ConductorFixture f = new ConductorFixture(volumes);

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void waitsForItsVolumesThenBootsTheRootVolumeWithoutALocalDisk() {
        f.host("h1", 4096);
        Server s = f.waiting("", 5);
        volumes.unready = Optional.of(new ServerVolumes.Unready(false, "volume v is downloading", "v",
                "downloading"));

        f.conductor.schedule(s.id());
        assertThat(f.sent()).as("nothing placed while its volume is made").isEmpty();
        assertThat(f.now(s).taskState()).isEqualTo(TaskState.SCHEDULING);

        volumes.unready = Optional.empty();
        f.conductor.schedule(s.id());

        assertThat(f.sent()).containsExactly("h1:BOOT");
        Boot boot = f.sender.sent.get(0).command().getBoot();
        assertThat(boot.getSource()).as("the agent boots the root volume").isEqualTo(BootSource.getDefaultInstance());
        assertThat(boot.getResources().getDiskGib()).as("Nova's root_gb 0 for a volume-backed server").isZero();
        assertThat(boot.getVolumesList()).extracting(VolumeAttachment::getVolumeId).containsExactly("vol-root");

        f.conductor.onEvent(f.event(s, "h1", InstanceState.ACTIVE).build());
        assertThat(f.now(s).vmState()).isEqualTo(InstanceState.ACTIVE);
        assertThat(volumes.booted).containsExactly(s.id());
    }

    @Test
    void aVolumeThatCouldNotBeMadePutsTheServerInErrorWithNovasFault() {
        f.host("h1", 4096);
        Server s = f.waiting("", 0);
        volumes.unready = Optional.of(new ServerVolumes.Unready(true, "Volume v did not finish being created: its"
                + " status is error (image gone)", "v", "error"));

        f.conductor.schedule(s.id());

        Server now = f.now(s);
        assertThat(now.vmState()).isEqualTo(InstanceState.ERROR);
        assertThat(now.fault()).map(Server.Fault::code).contains("BuildAbortException");
        assertThat(now.fault().orElseThrow().message()).isEqualTo("Build of instance " + s.id() + " aborted: Volume v"
                + " did not finish being created: its status is error (image gone)");
        assertThat(volumes.letGo).containsExactly(s.id());
        assertThat(f.sent()).isEmpty();
    }

    @Test
    void aServerWhoseVolumeIsStillBeingMadeAfterNovasWaitGoesToErrorWithNovasFault() {
        f.host("h1", 4096);
        Server s = f.waiting("", 0);
        volumes.unready = Optional.of(new ServerVolumes.Unready(false, "volume vol-root is downloading", "vol-root",
                "downloading"));
        f.conductor.schedule(s.id());

        f.clock.advance(Conductor.Settings.NOVA_VOLUME_WAIT.minusSeconds(1));
        f.parts.sweeper().sweep();
        assertThat(f.now(s).taskState()).as("within Nova's 60 × 3 s it waits").isEqualTo(TaskState.SCHEDULING);
        assertThat(volumes.letGo).isEmpty();

        f.clock.advance(Duration.ofSeconds(2));
        f.parts.sweeper().sweep();

        Server now = f.now(s);
        assertThat(now.vmState()).isEqualTo(InstanceState.ERROR);
        assertThat(now.fault()).map(Server.Fault::code).contains("BuildAbortException");
        assertThat(now.fault().orElseThrow().message()).isEqualTo("Build of instance " + s.id() + " aborted: Volume"
                + " vol-root did not finish being created even after we waited 181 seconds or 61 attempts. And its"
                + " status is downloading.");
        assertThat(volumes.letGo).as("its volumes let go as at its deletion").containsExactly(s.id());
        assertThat(f.sent()).isEmpty();
    }
}
