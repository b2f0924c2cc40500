package io.stratus.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LocalPostgresTest {
    @Test
    void startsCreatesDatabasesAndLeavesNothingBehind() throws Exception {
        Path dir;
        int port;
        try (LocalPostgres pg = LocalPostgres.start()) {
            port = pg.port();
            dir = pg.directory();
            String url = pg.createDatabase("stratus_probe");
            assertThat(url).isEqualTo("jdbc:postgresql://127.0.0.1:" + port + "/stratus_probe?user=stratus");
            try (Socket s = new Socket("127.0.0.1", port)) {
                assertThat(s.isConnected()).isTrue();
            }
            assertThat(dir.resolve("data")).isDirectory();
        }
        assertThat(dir).as("its data are deleted").doesNotExist();
        try (Socket s = new Socket("127.0.0.1", port)) {
            throw new AssertionError("the server still listens on " + port);
        } catch (IOException expected) {
            // stopped
        }
    }
}
