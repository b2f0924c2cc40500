package io.stratus.it;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * What the end-to-end tests do with guests as a tenant would: read their consoles through the
 * Compute API, and {@code ssh} into them with the tenant's key from a network namespace that has a
 * leg on their network (a DHCP namespace, or an "outside" one that reaches floating IPs).
 */
final class GuestAccess {
    private final Api admin;
    private final Path key;

    /** @param key the tenant's private key */
    GuestAccess(Api admin, Path key) {
        this.admin = admin;
        this.key = key;
    }

    String console(String server) {
        return admin.ok("POST", "/compute/v2.1/servers/" + server + "/action",
                Map.of("os-getConsoleOutput", Map.of())).path("output").asText();
    }

    /** The console once it shows {@code text}; fails with the console after {@code limit}. */
    String awaitConsole(String server, String text, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        String out = "";
        while (System.nanoTime() < deadline) {
            out = console(server);
            if (out.contains(text)) {
                return out;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("server " + server + " never printed '" + text + "'; console:\n" + out);
    }

    /** Runs {@code command} in the guest at {@code ip} over ssh from network namespace {@code namespace}. */
    String ssh(String namespace, String user, String ip, String command) throws IOException, InterruptedException {
        return run("ip", "netns", "exec", namespace, "ssh", "-i", key.toString(), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes", "-o",
                "LogLevel=ERROR", user + "@" + ip, command);
    }

    /** {@link #ssh}, tried again every 2 s until it answers or {@code limit} passes. */
    String awaitSsh(String namespace, String user, String ip, String command, Duration limit) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            try {
                return ssh(namespace, user, ip, command);
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("ssh " + user + "@" + ip + " never answered: " + e.getMessage());
                }
                Thread.sleep(2000);
            }
        }
    }

    /** Runs {@code cmd}; its output, or an IOException with it when it exits other than 0. */
    static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }

    /** Whether {@code cmd} exits 0, its output dropped. */
    static boolean succeeds(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        return p.waitFor() == 0;
    }
}
