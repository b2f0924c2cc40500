package io.stratus.agent.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetadataProxiesTest {
    private static final String NET = "aaaaaaaa-0000-4000-8000-00000000000a";

    @Test
    void theProxyReplacesWhatTheGuestSaysAboutItselfAndForwardsToTheSocket() {
        String config = MetadataProxies.config(NET, Path.of("/run/stratus/h1/metadata.sock"),
                Path.of("/run/stratus/h1/dhcp/" + NET + "/haproxy.pid"), Optional.of("haproxy"));
        assertThat(config).contains("    user haproxy\n    group haproxy\n", "    daemon\n",
                "    pidfile /run/stratus/h1/dhcp/" + NET + "/haproxy.pid\n", "    mode http\n",
                "    bind 169.254.169.254:80\n", "    server metadata /run/stratus/h1/metadata.sock\n");
        // Deleted before they are set: the proxy's values are the only ones.
        assertThat(config).containsSubsequence("http-request del-header X-Neutron- -m beg",
                "http-request del-header X-Instance-ID -m beg", "http-request del-header X-Tenant-ID",
                "http-request del-header X-Forwarded-For", "http-request set-header X-Neutron-Network-ID " + NET,
                "http-request set-header X-Forwarded-For %[src]");
        assertThat(MetadataProxies.config(NET, Path.of("/s"), Path.of("/p"), Optional.empty())).doesNotContain("user");
    }

    @Test
    void haproxyTakesTheConfiguration(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(HostCommands.local().attempt("haproxy", "-v").ok(),
                "skipped: haproxy is not installed (apt-get install haproxy)");
        Path file = dir.resolve("haproxy.cfg");
        Files.writeString(file, MetadataProxies.config(NET, dir.resolve("metadata.sock"), dir.resolve("haproxy.pid"),
                MetadataProxies.account()));
        var check = HostCommands.local().attempt("haproxy", "-c", "-f", file.toString());
        assertThat(check.ok()).as(check.output()).isTrue();
    }
}
