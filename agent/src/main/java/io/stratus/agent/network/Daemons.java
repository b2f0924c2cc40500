package io.stratus.agent.network;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The daemons the agent starts in DHCP namespaces (dnsmasq, haproxy), found again by their pid
 * files: they outlive the agent, so a restarted agent finds them running rather than starting
 * a second.
 */
final class Daemons {
    private Daemons() {
    }

    /**
     * The process whose pid is in {@code pidFile}, if it still runs with {@code config} on its
     * command line (a reused pid is another program).
     */
    static Optional<ProcessHandle> running(Path pidFile, Path config) {
        try {
            if (!Files.exists(pidFile)) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            Path cmdline = Path.of("/proc", String.valueOf(pid), "cmdline");
            if (!Files.exists(cmdline)) {
                return Optional.empty();
            }
            String args = new String(Files.readAllBytes(cmdline), StandardCharsets.UTF_8);
            return args.contains(config.toString()) ? ProcessHandle.of(pid) : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Ends {@code daemon}: SIGTERM, and SIGKILL when it has not gone after 5 s. */
    static void stop(ProcessHandle daemon) {
        daemon.destroy();
        try {
            daemon.onExit().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            daemon.destroyForcibly();
        }
    }

    /** Writes {@code text} to {@code file} (readable by the daemon) if it differs; whether it did. */
    static boolean write(Path file, String text) throws IOException {
        if (Files.exists(file) && Files.readString(file).equals(text)) {
            return false;
        }
        Files.writeString(file, text);
        return true;
    }
}
