package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.local.LocalPostgres;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * The same contract on PostgreSQL, the production database: a private cluster from Debian's
 * package; and an outage of it, which the API answers 503 and survives without a restart.
 */
@ResourceLock(LocalCloud.ROOT_NAMESPACE_AGENTS)
class ComputeApiPostgresIT extends ComputeApiContract {
    private LocalPostgres postgres;

    @Override
    String databaseUrl(Path dir) throws Exception {
        postgres = LocalPostgres.start();
        return postgres.createDatabase("stratus_it");
    }

    @Override
    String name() {
        return "postgresql";
    }

    @Test
    void aDatabaseOutageAnswers503AndTheServiceRecoversWithoutARestart() throws Exception {
        postgres.suspend();
        try {
            Api.Reply during = admin.call("GET", "/compute/v2.1/servers", null);
            assertThat(during.status()).as(during.body().toString()).isEqualTo(503);
            assertThat(during.message()).contains("database is unavailable");
        } finally {
            postgres.resume();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        int status = 0;
        while (status != 200 && System.nanoTime() < deadline) {
            status = admin.call("GET", "/compute/v2.1/servers", null).status();
            Thread.sleep(200);
        }
        assertThat(status).as("the API answers again").isEqualTo(200);
        // Host reports and agent events flow again: a boot goes through the whole path.
        String id = admin.ok("POST", "/compute/v2.1/servers", Api.server("after-outage", "t1", imageId))
                .path("server").path("id").asText();
        await(id, "ACTIVE");
        admin.ok("DELETE", "/compute/v2.1/servers/" + id, null);
        awaitGone(id);
    }

    @AfterAll
    void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }
}
