package io.stratus.cli.cloud;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code stratus host drain HOST}: takes a host out of scheduling, then live-migrates every ACTIVE
 * server on it to the hosts the scheduler chooses ({@code os-migrateLive} with no host), a few at a
 * time, and reports where each went. Servers that are not ACTIVE cannot move live and are reported
 * as skipped. The exit code is non-zero if any server is left on the host.
 */
@Command(name = "drain", mixinStandardHelpOptions = true,
        description = "Disable a host and live-migrate its ACTIVE servers to other hosts.")
final class HostDrain implements Callable<Integer> {
    private static final Duration POLL = Duration.ofMillis(500);

    @Spec
    CommandSpec spec;
    @Mixin
    CloudSession session;
    @Option(names = "--reason", defaultValue = "draining",
            description = "Why the host is disabled (default: ${DEFAULT-VALUE}).")
    String reason;
    @Option(names = "--parallel", paramLabel = "K", defaultValue = "1",
            description = "Servers migrated at once (default: ${DEFAULT-VALUE}).")
    int parallel;
    @Option(names = "--timeout", paramLabel = "TIME", defaultValue = "10m", converter = TimeArgument.class,
            description = "Longest wait for one server's migration, e.g. 90s, 10m (default: ${DEFAULT-VALUE}).")
    Duration timeout;
    @Parameters(paramLabel = "HOST")
    String host;

    /** What became of one server. */
    record Outcome(String id, String name, String from, String to, String result, boolean moved) {
        ObjectNode row() {
            ObjectNode n = CloudClient.object(Map.of());
            n.put("id", id);
            n.put("name", name);
            n.put("from", from);
            n.put("to", to);
            n.put("result", result);
            return n;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (parallel < 1) {
            throw new IllegalArgumentException("--parallel must be 1 or more, not " + parallel);
        }
        CloudClient client = session.client();
        boolean known = false;
        for (JsonNode s : client.compute("GET", "/os-services", null).path("services")) {
            known |= s.path("host").asText().equals(host);
        }
        if (!known) {
            throw new IllegalArgumentException("no host " + host + " (bin/stratus host list shows them)");
        }
        HostCommand.disable(client, host, reason);
        PrintWriter err = spec.commandLine().getErr();
        err.println("host " + host + " disabled (" + reason + "): no new servers are placed on it");
        err.flush();

        List<JsonNode> servers = new ArrayList<>();
        for (JsonNode s : client.compute("GET", "/servers/detail?all_tenants=1&host=" + CloudClient.encode(host),
                null).path("servers")) {
            // The filter is the API's; checked here too, since a server elsewhere must never be touched.
            if (s.path("OS-EXT-SRV-ATTR:host").asText().equals(host)) {
                servers.add(s);
            }
        }
        List<Outcome> outcomes = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(parallel);
        try {
            List<Future<Outcome>> running = new ArrayList<>();
            for (JsonNode s : servers) {
                running.add(pool.submit(() -> migrate(client, s, err)));
            }
            for (Future<Outcome> f : running) {
                outcomes.add(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        List<JsonNode> rows = new ArrayList<>();
        outcomes.forEach(o -> rows.add(o.row()));
        if (!session.json()) {
            spec.commandLine().getOut().println(servers.isEmpty() ? "no servers on " + host
                    : outcomes.stream().filter(Outcome::moved).count() + " of " + servers.size()
                    + " servers moved off " + host);
        }
        if (!rows.isEmpty() || session.json()) {
            Table.print(spec.commandLine().getOut(), rows, session.json(), "Server=name", "ID=id", "From=from",
                    "To=to", "Result=result");
        }
        return outcomes.stream().allMatch(Outcome::moved) ? 0 : 1;
    }

    /** Live-migrates one server off {@link #host} and waits, at most {@link #timeout}, for the outcome. */
    private Outcome migrate(CloudClient client, JsonNode server, PrintWriter err) throws InterruptedException {
        String id = server.path("id").asText();
        String name = server.path("name").asText();
        String status = server.path("status").asText();
        if (!status.equals("ACTIVE")) {
            return new Outcome(id, name, host, null, "skipped: status " + status, false);
        }
        try {
            client.compute("POST", "/servers/" + id + "/action", CloudClient.object(Map.of("os-migrateLive",
                    CloudClient.object(Map.of()).putNull("host"))));
        } catch (CloudException e) {
            return new Outcome(id, name, host, null, "failed: " + e.getMessage(), false);
        }
        synchronized (err) {
            err.println("migrating " + name + " (" + id + ") off " + host);
            err.flush();
        }
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        JsonNode s = server;
        while (System.nanoTime() < deadline) {
            Thread.sleep(POLL.toMillis());
            try {
                s = client.compute("GET", "/servers/" + id, null).path("server");
            } catch (CloudException e) {
                if (e.status() == 404) {
                    return new Outcome(id, name, host, null, "deleted during the drain", true);
                }
                // The API may be briefly unreachable: the deadline decides.
                continue;
            }
            status = s.path("status").asText();
            String at = s.path("OS-EXT-SRV-ATTR:host").asText(null);
            if (status.equals("ERROR")) {
                return new Outcome(id, name, host, at, "failed: " + s.path("fault").path("message")
                        .asText("the server went to ERROR"), false);
            }
            if (status.equals("ACTIVE") && s.path("OS-EXT-STS:task_state").isNull()) {
                if (at != null && !at.equals(host)) {
                    synchronized (err) {
                        err.printf(Locale.ROOT, "migrated %s to %s in %.1f s%n", name, at,
                                (System.nanoTime() - start) / 1e9);
                        err.flush();
                    }
                    return new Outcome(id, name, host, at, "migrated", true);
                }
                return new Outcome(id, name, host, null, "failed: still ACTIVE on " + host + " (the migration failed"
                        + " or did not converge; the scheduler's log says why)", false);
            }
        }
        return new Outcome(id, name, host, null, "failed: not done within " + TimeArgument.format(timeout)
                + " (status " + status + ", task " + s.path("OS-EXT-STS:task_state").asText("none") + ")", false);
    }

    /** A duration as {@code 90s}, {@code 10m}, {@code 1h}, plain seconds, or ISO-8601 ({@code PT10M}). */
    static final class TimeArgument implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            String v = value.strip().toLowerCase(Locale.ROOT);
            try {
                if (v.startsWith("pt")) {
                    return positive(Duration.parse(v), value);
                }
                if (v.endsWith("ms")) {
                    return positive(Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2))), value);
                }
                char unit = v.isEmpty() ? ' ' : v.charAt(v.length() - 1);
                String n = Character.isDigit(unit) ? v : v.substring(0, v.length() - 1);
                return positive(switch (unit) {
                    case 's' -> Duration.ofSeconds(Long.parseLong(n));
                    case 'm' -> Duration.ofMinutes(Long.parseLong(n));
                    case 'h' -> Duration.ofHours(Long.parseLong(n));
                    default -> {
                        if (!Character.isDigit(unit)) {
                            throw new NumberFormatException();
                        }
                        yield Duration.ofSeconds(Long.parseLong(n));
                    }
                }, value);
            } catch (NumberFormatException | DateTimeParseException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a time such as 90s, 10m or 1h");
            }
        }

        private static Duration positive(Duration d, String value) {
            if (d.isNegative() || d.isZero()) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a time above zero");
            }
            return d;
        }

        static String format(Duration d) {
            long s = d.toSeconds();
            return s % 3600 == 0 ? s / 3600 + "h" : s % 60 == 0 ? s / 60 + "m" : s + "s";
        }
    }
}
