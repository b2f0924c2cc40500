package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.InstanceState;
import io.stratus.scheduler.compute.Server;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Which host may have written which event, on the conductor's real schema. */
class EventOriginsTest {
    private final ConductorFixture f = new ConductorFixture();
    private final EventOrigins origins = new EventOrigins(f.servers, f.migrations);

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void aHostSpeaksForItselfOnly() {
        f.host("h1", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);

        assertThat(origins.refusal(f.event(s, "h1", InstanceState.SHUTOFF).build(), "h1")).isEmpty();
        assertThat(origins.refusal(f.event(s, "h1", InstanceState.DELETED).build(), "h2"))
                .as("h2 naming h1").hasValueSatisfying(why -> assertThat(why).contains("'h1'"));
    }

    @Test
    void aMovesEventsComeFromItsSourceOrTargetAndNameOneOfThem() {
        f.host("src", 4096);
        f.host("dst", 8192);
        f.host("h3", 8192);
        Server s = f.server("src", InstanceState.ACTIVE);
        f.conductor.liveMigrate(s, Optional.of("dst"), 0);

        // The source says the guest runs on the target now; the target says it arrived.
        assertThat(origins.refusal(f.moveEvent(s, "dst", InstanceState.ACTIVE).build(), "src")).isEmpty();
        assertThat(origins.refusal(f.moveEvent(s, "dst", InstanceState.ACTIVE).build(), "dst")).isEmpty();
        // A third host can neither claim the guest nor speak for the move's hosts.
        assertThat(origins.refusal(f.moveEvent(s, "h3", InstanceState.ACTIVE).build(), "h3")).isPresent();
        assertThat(origins.refusal(f.moveEvent(s, "dst", InstanceState.ACTIVE).build(), "h3")).isPresent();
        // Nor may the source name a host outside the move.
        assertThat(origins.refusal(f.moveEvent(s, "h3", InstanceState.ACTIVE).build(), "src")).isPresent();
    }

    @Test
    void aResizeOnItsOwnHostHasThatHostAtBothEnds() {
        f.host("h1", 4096);
        f.host("h2", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);
        f.conductor.resize(s, ConductorFixture.LARGE);

        assertThat(origins.refusal(f.moveEvent(s, "h1", InstanceState.VERIFY_RESIZE).build(), "h1")).isEmpty();
        assertThat(origins.refusal(f.moveEvent(s, "h1", InstanceState.VERIFY_RESIZE).build(), "h2")).isPresent();
    }

    @Test
    void aMigrationOfAnotherInstanceLendsNoAuthority() {
        f.host("src", 4096);
        f.host("dst", 8192);
        Server moving = f.server("src", InstanceState.ACTIVE);
        Server other = f.server("src", InstanceState.ACTIVE);
        f.conductor.liveMigrate(moving, Optional.of("dst"), 0);
        String migration = f.now(moving).requestId();

        assertThat(origins.refusal(f.event(other, "dst", InstanceState.ACTIVE).setMigrationId(migration).build(),
                "dst")).hasValueSatisfying(why -> assertThat(why).contains("not one of instance"));
    }

    @Test
    void onlyTheServersHostFailsItsImage() {
        f.host("h1", 4096);
        f.host("h2", 4096);
        Server s = f.server("h1", InstanceState.ACTIVE);

        assertThat(origins.refusal(f.event(s, "h1", InstanceState.ACTIVE).setImageId("img-1")
                .setFault(ConductorFixture.fault("ImageFailed", "disk read")).build(), "h1")).isEmpty();
        // h2 speaks for itself, but the image it would have deleted is h1's server's.
        assertThat(origins.refusal(f.event(s, "h2", InstanceState.ACTIVE).setImageId("img-1")
                .setFault(ConductorFixture.fault("ImageFailed", "disk read")).build(), "h2"))
                .hasValueSatisfying(why -> assertThat(why).contains("on h1"));
    }
}
