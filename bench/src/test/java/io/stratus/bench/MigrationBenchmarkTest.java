package io.stratus.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MigrationBenchmarkTest {

    @Test
    void readsTheFiguresOfAPeersResultLine() {
        assertThat(MigrationBenchmark.fields(MigrationPeer.RESULT
                + " completed=true rounds=3 bytes=1234 total_ms=12.500 downtime_ms=4.250 throttle=0"))
                .containsEntry("completed", "true").containsEntry("rounds", "3").containsEntry("bytes", "1234")
                .containsEntry("total_ms", "12.500").containsEntry("downtime_ms", "4.250")
                .containsEntry("throttle", "0").doesNotContainKey("error");
    }

    @Test
    void anAbortReasonWithWordsDoesNotBecomeFields() {
        assertThat(MigrationBenchmark.fields(MigrationPeer.RESULT
                + " completed=false rounds=30 bytes=9 total_ms=1.000 downtime_ms=0.000 throttle=80"
                + " aborted=no convergence after=30 rounds"))
                .containsEntry("completed", "false").containsEntry("throttle", "80").doesNotContainKey("after");
    }

    @Test
    void anErrorLineGivesOnlyTheError() {
        assertThat(MigrationBenchmark.fields(MigrationPeer.RESULT + " error=java.io.IOException: refused rounds=1"))
                .containsOnlyKeys("error").containsEntry("error", "java.io.IOException: refused rounds=1");
    }

    @Test
    void busyGuestsRewriteAQuarterOf256MiBAndAnEighthOfLarger() {
        assertThat(MigrationBenchmark.busyRegionMiB(256)).isEqualTo(64);
        assertThat(MigrationBenchmark.busyRegionMiB(1024)).isEqualTo(128);
    }
}
