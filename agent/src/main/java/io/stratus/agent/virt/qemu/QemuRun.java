package io.stratus.agent.virt.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Where one instance's QEMU process keeps its pid file, log and sockets. A Unix socket's path is
 * at most 107 bytes: an instance directory too deep for that gets its sockets in a short directory
 * named after it, so that a restarted agent finds them again.
 */
record QemuRun(Path dir, Path socketDir) {
    private static final int SOCKET_PATH_MAX = 100;
    /** How the driver's own lines in QEMU's log start: each run's command line. */
    static final String COMMAND_MARK = "--- ";

    static QemuRun of(Path instanceDir) {
        Path dir = instanceDir.toAbsolutePath();
        Path sockets = dir;
        if (dir.resolve("console.sock").toString().getBytes(StandardCharsets.UTF_8).length > SOCKET_PATH_MAX) {
            sockets = Path.of(System.getProperty("java.io.tmpdir"), "stratus-qemu-" + shortHash(dir.toString()));
        }
        return new QemuRun(dir, sockets);
    }

    private static String shortHash(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    Path monitorSocket() {
        return socketDir.resolve("qmp.sock");
    }

    Path consoleSocket() {
        return socketDir.resolve("console.sock");
    }

    /** Where the source's agent listens for QEMU's outgoing migration, and the target's QEMU for the incoming one. */
    Path migrationSocket() {
        return socketDir.resolve("migration.sock");
    }

    Path pidFile() {
        return dir.resolve("qemu.pid");
    }

    /** Everything the guest wrote to its console, across its runs: what a restarted agent shows again. */
    Path consoleLog() {
        return dir.resolve("console.log");
    }

    Path log() {
        return dir.resolve("qemu.log");
    }

    void prepare() throws IOException {
        clean();
        Files.createDirectories(dir);
        Files.createDirectories(socketDir);
    }

    /** Removes what a run leaves behind (its log stays: it tells why a run ended). */
    void clean() {
        for (Path p : List.of(monitorSocket(), consoleSocket(), migrationSocket(), pidFile())) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                // A leftover socket is replaced by the next run's.
            }
        }
        if (!socketDir.equals(dir)) {
            try {
                Files.deleteIfExists(socketDir);
            } catch (IOException e) {
                // Not empty or gone: either way nothing of this run is left in it.
            }
        }
    }

    /** The last lines QEMU wrote to its log (not the command lines the driver notes there), for fault messages. */
    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log(), StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.startsWith(COMMAND_MARK) && !l.isBlank()).toList();
            return String.join(" / ", lines.subList(Math.max(0, lines.size() - 5), lines.size())).strip();
        } catch (IOException e) {
            return "(no log)";
        }
    }
}
