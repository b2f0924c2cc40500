package io.stratus.cli.up;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

/**
 * The all-in-one cloud's directory ({@code $STRATUS_HOME}, default {@code ~/.stratus}): the data of
 * the broker, scheduler and agents, their logs, the credentials ({@code openrc}, readable by the
 * owner only) and the running cloud's pid and endpoint.
 */
public record CloudHome(Path dir) {
    public static CloudHome fromEnvironment() {
        String env = System.getenv("STRATUS_HOME");
        return new CloudHome(env != null && !env.isBlank() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".stratus"));
    }

    public Path kafka() {
        return dir.resolve("kafka");
    }

    /** The cloud's certificate authority and the certificates it issued (0700, files 0600). */
    public Path pki() {
        return dir.resolve("pki");
    }

    public Path scheduler() {
        return dir.resolve("scheduler");
    }

    /** The image service's data: image records and content-addressed image files. */
    public Path images() {
        return dir.resolve("images");
    }

    public Path agent() {
        return dir.resolve("agent");
    }

    /** The data of agent {@code index} (1..) of a cloud that runs several, each a host of its own. */
    public Path agent(int index) {
        return dir.resolve("agent-" + index);
    }

    /** The network namespaces the running cloud's agents live in, one name a line. */
    public Path namespacesFile() {
        return dir.resolve("namespaces");
    }

    public Path logs() {
        return dir.resolve("logs");
    }

    public Path openrc() {
        return dir.resolve("openrc");
    }

    public Path openrc(String project) {
        return dir.resolve("openrc-" + project);
    }

    public Path pidFile() {
        return dir.resolve("up.pid");
    }

    public Path endpointFile() {
        return dir.resolve("endpoint");
    }

    /** The running cloud's process, if its pid file names a live one. */
    public Optional<ProcessHandle> running() throws IOException {
        if (!Files.exists(pidFile())) {
            return Optional.empty();
        }
        try {
            return ProcessHandle.of(Long.parseLong(Files.readString(pidFile()).trim())).filter(ProcessHandle::isAlive);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** A secret kept in the home on first use, the same on every later start. */
    public String secret(String name) throws IOException {
        Path file = dir.resolve("." + name);
        if (Files.exists(file)) {
            return Files.readString(file).trim();
        }
        byte[] b = new byte[18];
        new SecureRandom().nextBytes(b);
        String s = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
        writePrivate(file, s + "\n");
        return s;
    }

    /** Writes a file only its owner may read (credentials). */
    public static void writePrivate(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, content);
    }
}
