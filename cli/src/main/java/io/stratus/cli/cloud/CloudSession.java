package io.stratus.cli.cloud;

import io.stratus.cli.up.CloudHome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The credentials of a CLI call: the {@code OS_*} variables of an {@code openrc} that was sourced,
 * or else the all-in-one cloud's {@code $STRATUS_HOME/openrc}; and whether to print JSON.
 */
public final class CloudSession {
    @Option(names = "--json", description = "Print JSON (for scripts) instead of a table.")
    boolean json;

    @Option(names = "--os-cloud-rc", paramLabel = "FILE", description = "An openrc file to read credentials from.")
    Path rc;

    /** Logs in with the credentials found. */
    public CloudClient client() throws IOException {
        Map<String, String> env = new HashMap<>(System.getenv());
        Path file = rc != null ? rc : CloudHome.fromEnvironment().openrc();
        if (rc != null || !env.containsKey("OS_AUTH_URL")) {
            if (!Files.isReadable(file)) {
                throw new IllegalArgumentException("no credentials: source an openrc (bin/stratus up writes "
                        + file + ") or set OS_AUTH_URL, OS_USERNAME, OS_PASSWORD and OS_PROJECT_NAME");
            }
            for (String line : Files.readAllLines(file)) {
                String l = line.trim();
                if (l.startsWith("export ") && l.contains("=")) {
                    String kv = l.substring("export ".length());
                    env.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                }
            }
        }
        return CloudClient.login(need(env, "OS_AUTH_URL"), need(env, "OS_USERNAME"), need(env, "OS_PASSWORD"),
                need(env, "OS_PROJECT_NAME"));
    }

    public boolean json() {
        return json;
    }

    private static String need(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException(name + " is not set: source an openrc file first");
        }
        return v;
    }
}
