package io.stratus.cli.up;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A command the up tests run against their cloud ({@code bin/stratus ...}, Debian's
 * {@code openstack}), with the cloud's home and kit and its output kept in the home.
 */
record CommandRun(int code, String output) {

    /**
     * Runs {@code cmd} within {@code limit}. A caller's sourced {@code OS_*} settings are dropped:
     * only {@code env} (the cloud's own openrc, when given) speaks for the cloud.
     */
    static CommandRun run(Path home, List<String> cmd, Map<String, String> env, Duration limit) throws Exception {
        ProcessBuilder b = new ProcessBuilder(cmd).redirectErrorStream(true);
        b.environment().put("STRATUS_HOME", home.toString());
        b.environment().put("STRATUS_KIT_DIR", System.getProperty("stratus.kit",
                Path.of(System.getProperty("user.home"), ".cache/stratus/kit").toString()));
        b.environment().keySet().removeIf(k -> k.startsWith("OS_"));
        b.environment().putAll(env);
        Path out = Files.createTempFile(home, "cmd-", ".out");
        b.redirectOutput(out.toFile());
        Process p = b.start();
        if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " did not finish within " + limit + ": " + Files.readString(out));
        }
        return new CommandRun(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    }
}
