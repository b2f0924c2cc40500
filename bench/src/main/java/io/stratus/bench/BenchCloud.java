package io.stratus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.kafka.LocalBus;
import io.stratus.local.HostNetwork;
import io.stratus.local.QuarkusProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * The services as deployed, each its own process from its packaged application (scheduler for
 * Identity and Compute, image service, agents) and the embedded Kafka broker in this JVM, for the
 * benchmarks that go through the whole stack; with the admin's token and a small JSON client.
 * Agents run on this machine's network, or each in a network namespace of its own as a separate
 * host ({@link #startOnHosts}).
 */
public final class BenchCloud implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String PASSWORD = "bench-admin";
    private static final String AGENT_PASSWORD = "bench-agent";
    private static final Duration START = Duration.ofMinutes(2);

    /** The built services. */
    public record Apps(Path scheduler, Path imageService, Path agent) {
        /** The packaged applications of the checkout at {@code home}. */
        public static Apps in(Path home) {
            return new Apps(home.resolve("scheduler/target/quarkus-app/quarkus-run.jar"),
                    home.resolve("image-service/target/quarkus-app/quarkus-run.jar"),
                    home.resolve("agent/target/quarkus-app/quarkus-run.jar"));
        }

        public List<Path> all() {
            return List.of(scheduler, imageService, agent);
        }
    }

    /**
     * A host of its own on this machine: an agent in network namespace {@code stratus-<namespace>}
     * ({@link HostNetwork#create}; tests use 1..N and {@code bin/stratus up} 101 on, so benchmarks
     * take numbers that neither does).
     *
     * @param settings agent settings beyond the defaults (driver, capacity)
     */
    record Host(String name, int namespace, Map<String, String> settings) {
    }

    final String url;
    final String imageUrl;
    final String token;
    /** What the agents' metadata proxies sign instance ids with and the scheduler checks. */
    private final String metadataSecret;
    private final Path work;
    private final LocalBus broker;
    private final List<QuarkusProcess> processes;
    /** The agents' addresses (host or namespace address and port), by host name. */
    private final Map<String, String> agents = new LinkedHashMap<>();
    private final List<HostNetwork.Namespace> namespaces = new ArrayList<>();
    private final List<String> hostsInNamespaces = new ArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private boolean hooked;
    /** The broker as the namespaces reach it. */
    private String bridgeKafka;
    private final Thread onExit = new Thread(this::closeQuietly, "bench-cloud-cleanup");

    private BenchCloud(String url, String imageUrl, String token, String metadataSecret, Path work,
                       LocalBus broker, List<QuarkusProcess> processes) {
        this.url = url;
        this.metadataSecret = metadataSecret;
        this.imageUrl = imageUrl;
        this.token = token;
        this.work = work;
        this.broker = broker;
        this.processes = processes;
    }

    /**
     * Starts the broker, scheduler, image service and one agent per entry of {@code agents}
     * (host name → capacity settings), and waits until every agent reported.
     */
    static BenchCloud start(Apps apps, Path work, Map<String, Map<String, String>> agents) throws Exception {
        return start(apps, work, agents, true);
    }

    /**
     * Like {@link #start}; {@code secured} false runs the bus in plaintext without ACLs and gives
     * the services no certificates, so that scheduler↔agent and agent↔agent gRPC are plaintext
     * too: the baseline a benchmark measures the cost of security against.
     */
    static BenchCloud start(Apps apps, Path work, Map<String, Map<String, String>> agents, boolean secured)
            throws Exception {
        BenchCloud cloud = services(apps, work, false, secured);
        try {
            for (Map.Entry<String, Map<String, String>> a : agents.entrySet()) {
                cloud.agent(apps, a.getKey(), a.getValue());
            }
            cloud.awaitHosts(agents.size());
            return cloud;
        } catch (Exception e) {
            cloud.close();
            throw e;
        }
    }

    /**
     * Like {@link #start}, with each agent in a network namespace of its own, as on separate
     * machines: broker, scheduler and image service also listen on the namespaces' bridge and the
     * agents reach them at {@link HostNetwork#GATEWAY}; agents reach each other (VXLAN) at their
     * namespaces' addresses. Needs root. Closing (or this JVM ending) removes the namespaces, the
     * DHCP namespaces the agents made and every process left in them, and the guests.
     */
    static BenchCloud startOnHosts(Apps apps, Path work, List<Host> hosts) throws Exception {
        HostNetwork.bridge();
        BenchCloud cloud = services(apps, work, true, true);
        try {
            for (Host h : hosts) {
                cloud.agentIn(apps, h);
            }
            cloud.awaitHosts(hosts.size());
            return cloud;
        } catch (Exception e) {
            cloud.close();
            throw e;
        }
    }

    private static BenchCloud services(Apps apps, Path work, boolean namespaces, boolean secured) throws Exception {
        EmbeddedKafkaBroker.Settings brokerSettings = EmbeddedKafkaBroker.Settings.ephemeral(work.resolve("kafka"));
        if (namespaces) {
            brokerSettings = brokerSettings.advertisedAt(HostNetwork.GATEWAY);
        }
        LocalBus broker = secured ? LocalBus.start(brokerSettings, work.resolve("pki"),
                namespaces ? List.of(HostNetwork.GATEWAY) : List.of()) : LocalBus.startPlaintext(brokerSettings);
        List<QuarkusProcess> processes = new ArrayList<>();
        BenchCloud cloud;
        try {
            int imagePort = QuarkusProcess.freePort();
            int schedulerPort = QuarkusProcess.freePort();
            String imageUrl = "http://127.0.0.1:" + imagePort + "/image";
            Map<String, String> scheduler = new LinkedHashMap<>(Map.of(
                    "stratus.scheduler.data-dir", work.resolve("scheduler").toString(),
                    "stratus.scheduler.image-url", imageUrl));
            scheduler.putAll(broker.controlPlane().serviceConfig());
            // The benchmark starts its agents itself: new hosts take servers at once.
            scheduler.put("stratus.scheduler.new-hosts-enabled", "true");
            Map<String, String> image = new LinkedHashMap<>();
            if (namespaces) {
                // Reached from the namespaces over the bridge too; the URLs they hand out stay on loopback.
                scheduler.put("quarkus.http.host", "0.0.0.0");
                scheduler.put("stratus.scheduler.public-url", "http://127.0.0.1:" + schedulerPort);
                image.put("quarkus.http.host", "0.0.0.0");
                image.put("stratus.image.public-url", "http://127.0.0.1:" + imagePort);
            }
            // What the agents' metadata proxies sign instance ids with, fresh for each cloud.
            byte[] secret = new byte[18];
            new SecureRandom().nextBytes(secret);
            String metadataSecret = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
            QuarkusProcess started = QuarkusProcess.start(apps.scheduler(), schedulerPort, scheduler,
                    Map.of("STRATUS_SCHEDULER_ADMIN_PASSWORD", PASSWORD, "STRATUS_METADATA_SHARED_SECRET",
                            metadataSecret), work.resolve("scheduler.log"), START, Duration.ofSeconds(5));
            processes.add(started);
            String url = "http://127.0.0.1:" + started.port();
            image.put("stratus.image.data-dir", work.resolve("images").toString());
            image.put("stratus.image.identity-url", url + "/identity/v3");
            processes.add(QuarkusProcess.start(apps.imageService(), imagePort, image, work.resolve("image-service.log"),
                    START, Duration.ofSeconds(5)));
            cloud = new BenchCloud(url, imageUrl, login(url, "admin", PASSWORD, "admin"), metadataSecret, work, broker,
                    processes);
        } catch (Exception e) {
            for (QuarkusProcess p : processes) {
                p.kill();
            }
            broker.close();
            throw e;
        }
        try {
            if (namespaces) {
                // Ctrl-C included: the namespaces, DHCP servers and guests would stay on this machine otherwise.
                Runtime.getRuntime().addShutdownHook(cloud.onExit);
                cloud.hooked = true;
                cloud.bridgeKafka = HostNetwork.GATEWAY + ":" + brokerSettings.port();
            }
            cloud.serviceUser();
            return cloud;
        } catch (Exception e) {
            cloud.close();
            throw e;
        }
    }

    /** The agents' service user: the service role reads every image. */
    private void serviceUser() throws Exception {
        String service = call("POST", url + "/identity/v3/projects", "{\"project\": {\"name\": \"service\"}}")
                .path("project").path("id").asText();
        String user = call("POST", url + "/identity/v3/users", "{\"user\": {\"name\": \"stratus-agent\","
                + " \"password\": \"" + AGENT_PASSWORD + "\", \"default_project_id\": \"" + service + "\"}}")
                .path("user").path("id").asText();
        call("PUT", url + "/identity/v3/projects/" + service + "/users/" + user + "/roles/service", null);
    }

    /**
     * An agent's environment: the image service's password, and the metadata service's address and
     * secret for its proxy (there, where an agent that does not know these settings ignores them).
     */
    private Map<String, String> agentEnvironment(String schedulerUrl) {
        return Map.of("STRATUS_AGENT_IMAGE_SERVICE_PASSWORD", AGENT_PASSWORD, "STRATUS_AGENT_METADATA_URL",
                schedulerUrl + "/metadata", "STRATUS_AGENT_METADATA_SHARED_SECRET", metadataSecret);
    }

    private Map<String, String> agentSettings(String host, String imageUrl, String schedulerUrl) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("stratus.agent.host", host);
        s.put("stratus.agent.data-dir", work.resolve("agent-" + host).toString());
        s.put("stratus.agent.image-service.url", imageUrl);
        s.put("stratus.agent.image-service.identity-url", schedulerUrl + "/identity/v3");
        s.put("stratus.agent.report-interval", "1s");
        return s;
    }

    private void agent(Apps apps, String host, Map<String, String> settings) throws Exception {
        Map<String, String> s = agentSettings(host, imageUrl, url);
        s.putAll(broker.agent(host).serviceConfig());
        // gRPC on a port of its own, with the agent's bus identity.
        s.put("stratus.agent.grpc-address", "127.0.0.1:" + QuarkusProcess.freePort());
        s.putAll(settings);
        QuarkusProcess agent = QuarkusProcess.start(apps.agent(), 0, s, agentEnvironment(url),
                work.resolve("agent-" + host + ".log"), START, Duration.ofSeconds(5));
        processes.add(agent);
        agents.put(host, agent.host() + ":" + agent.port());
    }

    private void agentIn(Apps apps, Host h) throws Exception {
        HostNetwork.Namespace ns = HostNetwork.create(h.namespace());
        namespaces.add(ns);
        hostsInNamespaces.add(h.name());
        int port = QuarkusProcess.freePort();
        String gateway = "http://" + HostNetwork.GATEWAY + ":";
        Map<String, String> s = agentSettings(h.name(), imageUrl.replace("http://127.0.0.1:", gateway),
                url.replace("http://127.0.0.1:", gateway));
        s.put("stratus.agent.grpc-address", ns.address() + ":" + QuarkusProcess.freePort());
        s.put("quarkus.http.host", ns.address());
        s.putAll(broker.agent(h.name()).withBootstrapServers(bridgeKafka).serviceConfig());
        // Its guests end with it: the benchmark's hosts go with the benchmark.
        s.put("stratus.agent.qemu.keep-guests-on-stop", "false");
        s.putAll(h.settings());
        QuarkusProcess agent = QuarkusProcess.startIn(ns, apps.agent(), port, s,
                agentEnvironment(url.replace("http://127.0.0.1:", gateway)), work.resolve("agent-" + h.name() + ".log"),
                START, Duration.ofSeconds(5));
        processes.add(agent);
        agents.put(h.name(), agent.host() + ":" + agent.port());
    }

    /** Where agent {@code host} serves HTTP (health, /metrics): {@code address:port}. */
    String agentAddress(String host) {
        String a = agents.get(host);
        if (a == null) {
            throw new IllegalArgumentException("no agent " + host + " in this cloud");
        }
        return a;
    }

    private void awaitHosts(int count) throws Exception {
        long deadline = System.nanoTime() + START.toNanos();
        while (System.nanoTime() < deadline) {
            int up = 0;
            for (JsonNode s : call("GET", url + "/compute/v2.1/os-services", null).path("services")) {
                up += s.path("state").asText().equals("up") ? 1 : 0;
            }
            if (up >= count) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the agents did not all report to the scheduler within " + START);
    }

    /** An image with {@code fields} (JSON members) and the data of {@code file}; its id. */
    String image(String fields, Path file) throws Exception {
        String id = call("POST", imageUrl + "/v2/images", "{" + fields + "}").path("id").asText();
        int status = HTTP.send(HttpRequest.newBuilder(URI.create(imageUrl + "/v2/images/" + id + "/file"))
                .header("X-Auth-Token", token).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofFile(file)).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
        if (status != 204) {
            throw new IllegalStateException("upload of " + file + " answered HTTP " + status);
        }
        return id;
    }

    /** A request with the admin's token; its status and body, whatever the status. */
    HttpResponse<String> send(String method, String target, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(target)).header("X-Auth-Token", token)
                .timeout(Duration.ofMinutes(1));
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A request that must succeed; its JSON body. */
    JsonNode call(String method, String target, String body) throws Exception {
        HttpResponse<String> r = send(method, target, body);
        if (r.statusCode() >= 300) {
            throw new IllegalStateException(method + " " + target + " answered HTTP " + r.statusCode() + ": " + r.body());
        }
        return json(r);
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return r.body() == null || r.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(r.body());
    }

    private static String login(String url, String user, String password, String project) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/identity/v3/auth/tokens"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {\"name\": \""
                                + user + "\", \"domain\": {\"id\": \"default\"}, \"password\": \"" + password + "\"}}},"
                                + " \"scope\": {\"project\": {\"name\": \"" + project + "\", \"domain\": {\"id\":"
                                + " \"default\"}}}}}")).build(), HttpResponse.BodyHandlers.ofString());
        return r.headers().firstValue("X-Subject-Token").orElseThrow(() ->
                new IllegalStateException("login failed: HTTP " + r.statusCode() + " " + r.body()));
    }

    /**
     * Stops every process, the guests the agents left (the qemu driver's outlive their agent, as
     * on a real host: every process that names a file under the work directory), and removes what
     * the agents in namespaces made on this machine.
     */
    @Override
    public void close() throws Exception {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (hooked) {
            try {
                Runtime.getRuntime().removeShutdownHook(onExit);
            } catch (IllegalStateException e) {
                // This JVM is ending: the hook is what runs this.
            }
        }
        for (QuarkusProcess p : processes) {
            p.kill();
        }
        killProcessesUnder(work);
        IOException failed = null;
        for (String host : hostsInNamespaces) {
            try {
                HostNetwork.removeAgentNamespaces(host);
                deleteTree(Path.of("/run/stratus", host));
            } catch (IOException e) {
                failed = e;
            }
        }
        namespaces.forEach(HostNetwork.Namespace::close);
        broker.close();
        if (failed != null) {
            throw failed;
        }
    }

    private void closeQuietly() {
        try {
            if (!closed.get()) {
                System.err.println("bench: stopping the cloud in " + work + " and removing what it made");
            }
            close();
        } catch (Exception e) {
            System.err.println("bench: cleaning up after the cloud in " + work + " failed: " + e);
        }
    }

    /** Kills every process that names a path under {@code dir} in its arguments (a guest's QEMU). */
    private static void killProcessesUnder(Path dir) {
        String prefix = dir.toAbsolutePath().normalize() + "/";
        List<ProcessHandle> found = ProcessHandle.allProcesses().filter(p -> p.info().arguments()
                .map(args -> Stream.of(args).anyMatch(a -> a.contains(prefix))).orElse(false)).toList();
        found.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle p : found) {
            try {
                p.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // Killed or not, nothing more can be done about it here.
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
