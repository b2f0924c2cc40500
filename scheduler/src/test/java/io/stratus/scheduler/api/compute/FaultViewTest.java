package io.stratus.scheduler.api.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.scheduler.compute.Server;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Faults as Nova shows them: host names and details for admins only. */
class FaultViewTest {
    private static final Instant AT = Instant.parse("2026-12-07T01:02:03Z");
    private static final List<String> HOSTS = List.of("compute-1", "compute-12", "sim-gone");

    @Test
    void noValidHostReadsAsNovasSentenceToNonAdminsAndInFullToAdmins() {
        Server.Fault f = new Server.Fault("NoValidHost", "No valid host was found. No enabled host that passes the"
                + " filters has 1 VCPU free; ComputeFilter removed 1 (sim-gone), RamFilter removed 2 (compute-1,"
                + " compute-12) (already tried: compute-1). Last exception: BootFailed: the boot failed on compute-1");
        Map<String, Object> tenant = FaultView.of(f, AT, false, () -> HOSTS);
        assertThat(tenant).containsOnlyKeys("code", "created", "message")
                .containsEntry("code", 500)
                .containsEntry("message", "No valid host was found. There are not enough hosts available.");
        Map<String, Object> admin = FaultView.of(f, AT, true, () -> HOSTS);
        assertThat(admin).containsEntry("message", f.message()).containsEntry("details", "NoValidHost")
                .containsEntry("code", 500);
    }

    @Test
    void otherMessagesLoseEveryHostNameForNonAdmins() {
        Server.Fault f = new Server.Fault("BootFailed", "the boot failed on compute-12: disk of compute-1 full;"
                + " compute-1.");
        Map<String, Object> tenant = FaultView.of(f, AT, false, () -> HOSTS);
        assertThat(tenant).containsOnlyKeys("code", "created", "message").containsEntry("code", 400);
        String message = (String) tenant.get("message");
        assertThat(message).isEqualTo("the boot failed on a compute host: disk of a compute host full; a compute host.");
        for (String h : HOSTS) {
            assertThat(message).doesNotContain(h);
        }
    }

    @Test
    void namesInsideOtherWordsStay() {
        assertThat(FaultView.withoutHosts("image compute-1x on host compute-1", List.of("compute-1")))
                .isEqualTo("image compute-1x on host a compute host");
    }
}
