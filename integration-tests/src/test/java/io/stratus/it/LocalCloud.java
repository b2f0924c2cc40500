package io.stratus.it;

import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.local.QuarkusProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The services as separate processes on this machine, as a deployment runs them: the embedded
 * Kafka broker, the packaged scheduler (Identity, Compute) and image service, and agents that
 * fetch images from the image service as the service user {@code stratus-agent}.
 */
final class LocalCloud implements AutoCloseable {
    static final String ADMIN_PASSWORD = "it-admin-secret";
    static final String AGENT_PASSWORD = "it-agent-secret";
    private static final Duration START = Duration.ofMinutes(2);

    final Path dir;
    final Path logs;
    final String name;
    private final EmbeddedKafkaBroker.Settings brokerSettings;
    private EmbeddedKafkaBroker broker;
    /** The scheduler's root URL. */
    final String url;
    /** The image service's Image API root ({@code .../image}). */
    final String imageUrl;
    final Api admin;
    private final List<QuarkusProcess> processes = new ArrayList<>();

    private LocalCloud(Path dir, String name, EmbeddedKafkaBroker.Settings brokerSettings, EmbeddedKafkaBroker broker,
                       String url, String imageUrl, Api admin, List<QuarkusProcess> started) {
        this.brokerSettings = brokerSettings;
        this.dir = dir;
        this.logs = Path.of("target", "it-logs");
        this.name = name;
        this.broker = broker;
        this.url = url;
        this.imageUrl = imageUrl;
        this.admin = admin;
        this.processes.addAll(started);
    }

    /**
     * Starts broker, scheduler and image service, and creates the agents' service user.
     *
     * @param scheduler settings for the scheduler beyond the defaults (its database URL...)
     */
    static LocalCloud start(Path dir, String name, Map<String, String> scheduler) throws Exception {
        Path logs = Files.createDirectories(Path.of("target", "it-logs"));
        EmbeddedKafkaBroker.Settings brokerSettings = EmbeddedKafkaBroker.Settings.ephemeral(dir.resolve("kafka"));
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(brokerSettings);
        List<QuarkusProcess> started = new ArrayList<>();
        try {
            int imagePort = QuarkusProcess.freePort();
            String imageUrl = "http://127.0.0.1:" + imagePort + "/image";
            Map<String, String> s = new LinkedHashMap<>();
            s.put("stratus.scheduler.data-dir", dir.resolve("scheduler").toString());
            s.put("stratus.scheduler.image-url", imageUrl);
            s.put("kafka.bootstrap.servers", broker.bootstrapServers());
            s.putAll(scheduler);
            QuarkusProcess sched = QuarkusProcess.start(app("stratus.schedulerApp"), 0, s,
                    Map.of("STRATUS_SCHEDULER_ADMIN_PASSWORD", ADMIN_PASSWORD), logs.resolve(name + "-scheduler.log"),
                    START, Duration.ofSeconds(10));
            started.add(sched);
            String url = "http://127.0.0.1:" + sched.port();
            started.add(QuarkusProcess.start(app("stratus.imageApp"), imagePort, Map.of(
                            "stratus.image.data-dir", dir.resolve("images").toString(),
                            "stratus.image.identity-url", url + "/identity/v3"),
                    logs.resolve(name + "-image-service.log"), START, Duration.ofSeconds(10)));
            Api admin = Api.login(url, "admin", ADMIN_PASSWORD, "admin");
            String service = admin.ok("POST", "/identity/v3/projects", Map.of("project", Map.of("name", "service")))
                    .path("project").path("id").asText();
            String agentUser = admin.ok("POST", "/identity/v3/users", Map.of("user", Map.of("name", "stratus-agent",
                    "password", AGENT_PASSWORD, "default_project_id", service))).path("user").path("id").asText();
            admin.ok("PUT", "/identity/v3/projects/" + service + "/users/" + agentUser + "/roles/service", null);
            return new LocalCloud(dir, name, brokerSettings, broker, url, imageUrl, admin, started);
        } catch (Exception | AssertionError e) {
            for (QuarkusProcess p : started) {
                p.kill();
            }
            broker.close();
            throw e;
        }
    }

    private static Path app(String property) {
        return Path.of(System.getProperty(property));
    }

    String bootstrapServers() {
        return broker.bootstrapServers();
    }

    /** Stops the broker and starts it again on the same data and ports, as a broker restart does. */
    void restartBroker() throws Exception {
        broker.close();
        broker = EmbeddedKafkaBroker.start(brokerSettings);
    }

    /** The image service's root, for {@link Api#at}: its paths start with {@code /image}. */
    String imageBase() {
        return imageUrl.substring(0, imageUrl.length() - "/image".length());
    }

    /**
     * Starts an agent that fetches images from {@code imageUrl}.
     *
     * @param extra settings beyond the defaults
     */
    QuarkusProcess agent(String host, String imageUrl, long memoryMib, Map<String, String> extra) throws Exception {
        int port = QuarkusProcess.freePort();
        Map<String, String> s = new LinkedHashMap<>();
        s.put("stratus.agent.host", host);
        s.put("stratus.agent.data-dir", dir.resolve(host).toString());
        s.put("stratus.agent.image-service.url", imageUrl);
        s.put("stratus.agent.image-service.identity-url", url + "/identity/v3");
        s.put("stratus.agent.grpc-address", "127.0.0.1:" + port);
        s.put("stratus.agent.capacity.vcpus", "16");
        s.put("stratus.agent.capacity.memory-mib", Long.toString(memoryMib));
        s.put("stratus.agent.report-interval", "1s");
        s.put("kafka.bootstrap.servers", bootstrapServers());
        s.putAll(extra);
        QuarkusProcess agent = QuarkusProcess.start(app("stratus.agentApp"), port, s,
                Map.of("STRATUS_AGENT_IMAGE_SERVICE_PASSWORD", AGENT_PASSWORD),
                logs.resolve(name + "-agent-" + host + ".log"), START, Duration.ofSeconds(10));
        processes.add(agent);
        return agent;
    }

    /** Waits until every host in {@code hosts} reports to the scheduler. */
    void awaitHostsUp(String... hosts) {
        for (String h : hosts) {
            long deadline = System.nanoTime() + START.toNanos();
            boolean up = false;
            while (!up && System.nanoTime() < deadline) {
                for (var svc : admin.ok("GET", "/compute/v2.1/os-services", null).path("services")) {
                    up |= svc.path("host").asText().equals(h) && svc.path("state").asText().equals("up");
                }
                Api.pause();
            }
            if (!up) {
                throw new AssertionError("agent " + h + " never reported to the scheduler");
            }
        }
    }

    @Override
    public void close() throws Exception {
        for (QuarkusProcess p : processes) {
            p.kill();
        }
        broker.close();
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
