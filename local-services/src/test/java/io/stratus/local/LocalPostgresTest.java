package io.stratus.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LocalPostgresTest {
    @Test
    void startsACreatesDatabasesAndLeavesNothingBehind() throws Exception {
        Path dataDir;
        int port;
        try (LocalPostgres pg = LocalPostgres.start()) {
            port = pg.port();
            String url = pg.createDatabase("stratus_probe");
            assertThat(url).isEqualTo("jdbc:postgresql://127.0.0.1:" + port + "/stratus_probe?user=stratus");
            try (Socket s = new Socket("127.0.0.1", port)) {
                assertThat(s.isConnected()).isTrue();
            }
            dataDir = Path.of(System.getProperty("java.io.tmpdir"));
        }
        try (Socket s = new Socket("127.0.0.1", port)) {
            throw new AssertionError("the server still listens on " + port);
        } catch (java.io.IOException expected) {
            // stopped
        }
        try (var left = Files.list(dataDir)) {
            assertThat(left.filter(p -> p.getFileName().toString().startsWith("stratus-pg-"))
                    .filter(p -> Files.exists(p.resolve("data")))).as("no cluster left").isEmpty();
        }
    }
}
