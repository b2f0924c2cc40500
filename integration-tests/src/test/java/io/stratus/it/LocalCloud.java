package io.stratus.it;

import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.kafka.LocalBus;
import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kvm.testing.ProcessesUnder;
import io.stratus.local.HostNetwork;
import io.stratus.local.QuarkusProcess;
import io.stratus.proto.v1.HostNetworkState;
import java.io.IOException;
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
import java.util.Properties;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The services as separate processes on this machine, as a deployment runs them: the embedded
 * Kafka broker, the packaged scheduler (Identity, Compute) and image service, and agents that
 * fetch images from the image service as the service user {@code stratus-agent}. The bus is
 * authenticated as {@code bin/stratus up} has it: mutual TLS, a certificate per agent and ACLs.
 */
final class LocalCloud implements AutoCloseable {
    static final String ADMIN_PASSWORD = "it-admin-secret";
    static final String AGENT_PASSWORD = "it-agent-secret";
    private static final Duration START = Duration.ofMinutes(2);

    final Path dir;
    final Path logs;
    final String name;
    private final LocalBus bus;
    /** The scheduler's root URL. */
    final String url;
    /** The image service's Image API root ({@code .../image}). */
    final String imageUrl;
    final Api admin;
    /**
     * What the agents' metadata proxies sign instance ids with and the scheduler checks, fresh
     * per cloud; tests sign with it to call the metadata API as a proxy does.
     */
    final String metadataSecret;
    private final List<QuarkusProcess> processes = new ArrayList<>();
    /** The agents' namespaces by the number the class gave ({@link #agentIn}). */
    private final Map<Integer, HostNetwork.Namespace> namespaces = new LinkedHashMap<>();
    /** The agents run in namespaces: each names its DHCP servers' namespaces after itself. */
    private final List<String> hostsInNamespaces = new ArrayList<>();
    /** Where the agents started after {@link #withOutside} have a leg, mapped to physical network {@link #PHYSNET}. */
    private HostNetwork.ExternalNetwork outside;
    /** The physical network name agents map their leg on the outside bridge to. */
    static final String PHYSNET = "public";
    /**
     * The lock of test classes whose agents run in the root namespace ({@link #agent}): their
     * bridges, filters and DHCP namespaces would share the machine's one set of names, so such
     * classes run one at a time. Agents in namespaces of their own ({@link #agentIn}) need none, as
     * long as every class uses namespace numbers of its own ({@link NamespaceNumbers} fails a class
     * that takes another's).
     */
    static final String ROOT_NAMESPACE_AGENTS = "root-namespace agents";

    private LocalCloud(Path dir, String name, LocalBus bus, String url, String imageUrl, Api admin,
                       String metadataSecret, List<QuarkusProcess> started) {
        this.bus = bus;
        this.dir = dir;
        this.logs = Path.of("target", "it-logs");
        this.name = name;
        this.url = url;
        this.imageUrl = imageUrl;
        this.admin = admin;
        this.metadataSecret = metadataSecret;
        this.processes.addAll(started);
    }

    /**
     * Starts broker, scheduler and image service, and creates the agents' service user.
     *
     * @param scheduler settings for the scheduler beyond the defaults (its database URL...)
     */
    static LocalCloud start(Path dir, String name, Map<String, String> scheduler) throws Exception {
        return start(dir, name, scheduler, false);
    }

    /**
     * Like {@link #start(Path, String, Map)}; with {@code namespaces}, ready for agents that run in
     * network namespaces of their own ({@link #agentIn}): the broker also listens on the
     * namespaces' bridge and names that address to its clients.
     */
    static LocalCloud start(Path dir, String name, Map<String, String> scheduler, boolean namespaces)
            throws Exception {
        Path logs = Files.createDirectories(Path.of("target", "it-logs"));
        EmbeddedKafkaBroker.Settings brokerSettings = EmbeddedKafkaBroker.Settings.ephemeral(dir.resolve("kafka"));
        if (namespaces) {
            HostNetwork.bridge();
            brokerSettings = brokerSettings.advertisedAt(HostNetwork.GATEWAY);
        }
        LocalBus bus = LocalBus.start(brokerSettings, dir.resolve("pki"),
                namespaces ? List.of(HostNetwork.GATEWAY) : List.of());
        List<QuarkusProcess> started = new ArrayList<>();
        try {
            int imagePort = QuarkusProcess.freePort();
            String imageUrl = "http://127.0.0.1:" + imagePort + "/image";
            Map<String, String> s = new LinkedHashMap<>();
            s.put("stratus.scheduler.data-dir", dir.resolve("scheduler").toString());
            s.put("stratus.scheduler.image-url", imageUrl);
            s.putAll(bus.controlPlane().serviceConfig());
            // The tests start their agents (and play hosts' reports) themselves: new hosts take servers at once.
            s.put("stratus.scheduler.new-hosts-enabled", "true");
            s.putAll(scheduler);
            int schedulerPort = QuarkusProcess.freePort();
            Map<String, String> image = new LinkedHashMap<>();
            if (namespaces) {
                // Reached from the namespaces over the bridge too; clients here still use loopback.
                s.put("quarkus.http.host", "0.0.0.0");
                s.put("stratus.scheduler.public-url", "http://127.0.0.1:" + schedulerPort);
                image.put("quarkus.http.host", "0.0.0.0");
                image.put("stratus.image.public-url", "http://127.0.0.1:" + imagePort);
            }
            String metadataSecret = randomSecret();
            QuarkusProcess sched = QuarkusProcess.start(app("stratus.schedulerApp"), schedulerPort, s,
                    Map.of("STRATUS_SCHEDULER_ADMIN_PASSWORD", ADMIN_PASSWORD, "STRATUS_METADATA_SHARED_SECRET",
                            metadataSecret), logs.resolve(name + "-scheduler.log"), START, Duration.ofSeconds(10));
            started.add(sched);
            String url = "http://127.0.0.1:" + sched.port();
            image.put("stratus.image.data-dir", dir.resolve("images").toString());
            image.put("stratus.image.identity-url", url + "/identity/v3");
            // The dashboard (the scheduler's origin) calls the Image API from the browser.
            image.put("quarkus.http.cors.origins", url);
            started.add(QuarkusProcess.start(app("stratus.imageApp"), imagePort, image,
                    logs.resolve(name + "-image-service.log"), START, Duration.ofSeconds(10)));
            Api admin = Api.login(url, "admin", ADMIN_PASSWORD, "admin");
            String service = admin.ok("POST", "/identity/v3/projects", Map.of("project", Map.of("name", "service")))
                    .path("project").path("id").asText();
            String agentUser = admin.ok("POST", "/identity/v3/users", Map.of("user", Map.of("name", "stratus-agent",
                    "password", AGENT_PASSWORD, "default_project_id", service))).path("user").path("id").asText();
            admin.ok("PUT", "/identity/v3/projects/" + service + "/users/" + agentUser + "/roles/service", null);
            return new LocalCloud(dir, name, bus, url, imageUrl, admin, metadataSecret, started);
        } catch (Exception | AssertionError e) {
            for (QuarkusProcess p : started) {
                p.kill();
            }
            bus.close();
            throw e;
        }
    }

    private static String randomSecret() {
        byte[] b = new byte[18];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /**
     * What an agent is given in its environment besides its settings: the image service's
     * password, and the metadata service's address and secret for its proxy (in the environment,
     * where an agent that does not know these settings yet ignores them; a -D one would stop it).
     */
    private Map<String, String> agentEnvironment(String schedulerUrl) {
        return Map.of("STRATUS_AGENT_IMAGE_SERVICE_PASSWORD", AGENT_PASSWORD, "STRATUS_AGENT_METADATA_URL",
                schedulerUrl + "/metadata", "STRATUS_AGENT_METADATA_SHARED_SECRET", metadataSecret);
    }

    private static Path app(String property) {
        return Path.of(System.getProperty(property));
    }

    String bootstrapServers() {
        return bus.bootstrapServers();
    }

    /** A bus client with the control plane's rights (it reads every topic). */
    KafkaClientSettings controlPlaneBus() {
        return bus.controlPlane();
    }

    /**
     * A bus client as {@code host}'s agent, with the broker's ACLs for it: what a real agent
     * process gets, and what a test uses to speak for a simulated host.
     */
    KafkaClientSettings agentBus(String host) {
        return bus.agent(host);
    }

    /**
     * The newest state of {@code host} on {@code stratus.network} once it satisfies {@code wanted},
     * read from the topic's start; fails after {@code limit} with the newest one seen.
     */
    HostNetworkState awaitNetworkState(Duration limit, String host, Predicate<HostNetworkState> wanted)
            throws Exception {
        Properties p = controlPlaneBus().properties("it-network-state");
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            TopicPartition partition = new TopicPartition("stratus.network", 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            HostNetworkState latest = null;
            long deadline = System.nanoTime() + limit.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    if (r.key().equals(host)) {
                        latest = HostNetworkState.parseFrom(r.value());
                    }
                }
                if (latest != null && wanted.test(latest)) {
                    return latest;
                }
            }
            throw new AssertionError("no state of " + host + " as wanted; the newest: " + latest);
        }
    }

    /** Stops the broker and starts it again on the same data and ports, as a broker restart does. */
    void restartBroker() throws Exception {
        bus.restart();
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
        Map<String, String> s = agentSettings(host, imageUrl, url, "127.0.0.1", memoryMib);
        s.putAll(agentBus(host).serviceConfig());
        s.putAll(extra);
        QuarkusProcess agent = QuarkusProcess.start(app("stratus.agentApp"), port, s, agentEnvironment(url),
                logs.resolve(name + "-agent-" + host + ".log"), START, Duration.ofSeconds(10));
        processes.add(agent);
        return agent;
    }

    /**
     * Starts agent {@code host} in network namespace number {@code index} of its own, as on a
     * separate machine: it reaches broker, scheduler and image service over the namespaces' bridge,
     * and other agents at their namespaces' addresses. Needs a cloud started with namespaces.
     */
    QuarkusProcess agentIn(int index, String host, long memoryMib, Map<String, String> extra) throws Exception {
        int number = NamespaceNumbers.claim(index, name);
        HostNetwork.Namespace ns;
        try {
            ns = HostNetwork.create(number);
        } catch (IOException | RuntimeException e) {
            NamespaceNumbers.release(number, name);
            throw e;
        }
        namespaces.put(index, ns);
        Map<String, String> physical = Map.of();
        if (outside != null) {
            outside.plug(ns, NamespaceNumbers.number(index));
            physical = Map.of("stratus.agent.network.physical-interfaces", PHYSNET + ":"
                    + HostNetwork.ExternalNetwork.EXTERNAL_INTERFACE);
        }
        int port = QuarkusProcess.freePort();
        String gateway = "http://" + HostNetwork.GATEWAY + ":";
        Map<String, String> s = agentSettings(host, imageUrl.replace("http://127.0.0.1:", gateway),
                url.replace("http://127.0.0.1:", gateway), ns.address(), memoryMib);
        s.putAll(agentBus(host).withBootstrapServers(HostNetwork.GATEWAY + ":" + bus.settings().port()).serviceConfig());
        s.putAll(physical);
        s.putAll(extra);
        hostsInNamespaces.add(host);
        QuarkusProcess agent = QuarkusProcess.startIn(ns, app("stratus.agentApp"), port, s,
                agentEnvironment(url.replace("http://127.0.0.1:", gateway)), freshLog(name + "-agent-" + host), START,
                Duration.ofSeconds(10));
        processes.add(agent);
        return agent;
    }

    /** The name of the namespace made for the agent started with {@code index} ({@link #agentIn}). */
    String namespace(int index) {
        HostNetwork.Namespace ns = namespaces.get(index);
        if (ns == null) {
            throw new IllegalArgumentException("no agent of cloud " + name + " runs in namespace number " + index);
        }
        return ns.name();
    }

    /**
     * Gives the agents started from now on a leg on {@code external}'s bridge, which they carry flat
     * networks of physical network {@link #PHYSNET} on: the cloud's outside, for routers' gateways
     * and floating IPs.
     */
    LocalCloud withOutside(HostNetwork.ExternalNetwork external) throws java.io.IOException {
        external.ensure();
        this.outside = external;
        return this;
    }

    /** A log file not used yet in this run: a restarted process keeps its predecessor's log. */
    private Path freshLog(String base) {
        Path log = logs.resolve(base + ".log");
        for (int i = 2; logged(log); i++) {
            log = logs.resolve(base + "-" + i + ".log");
        }
        return log;
    }

    private boolean logged(Path log) {
        return processes.stream().anyMatch(p -> p.log().equals(log));
    }

    /**
     * @param address the agent's address: it listens there, HTTP (health, metrics) on the port
     *                the caller starts it on, gRPC on a port of its own (mutual TLS with its bus
     *                identity, whose certificate names the host)
     */
    private Map<String, String> agentSettings(String host, String imageUrl, String schedulerUrl, String address,
                                              long memoryMib) throws IOException {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("stratus.agent.host", host);
        s.put("stratus.agent.data-dir", dir.resolve(host).toString());
        s.put("stratus.agent.image-service.url", imageUrl);
        s.put("stratus.agent.image-service.identity-url", schedulerUrl + "/identity/v3");
        s.put("stratus.agent.grpc-address", address + ":" + QuarkusProcess.freePort());
        // It listens where it says it does: loopback, or its namespace's own address.
        s.put("quarkus.http.host", address);
        s.put("stratus.agent.capacity.vcpus", "16");
        s.put("stratus.agent.capacity.memory-mib", Long.toString(memoryMib));
        s.put("stratus.agent.report-interval", "1s");
        // Agroal's 5 s for the agent's first H2 connection (Flyway, at start) is not enough on a machine
        // whose two cores also run another class's guests under TCG: an agent once failed to start so.
        s.put("quarkus.datasource.jdbc.acquisition-timeout", "60s");
        return s;
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

    /** Runs Debian's {@code openstack} client as the admin; fails unless it exits 0. */
    String openstack(String... args) throws Exception {
        return openstackAs("admin", ADMIN_PASSWORD, "admin", args);
    }

    /** Runs Debian's {@code openstack} client as {@code user} in {@code project}; fails unless it exits 0. */
    String openstackAs(String user, String password, String project, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openstack"));
        cmd.addAll(List.of(args));
        ProcessBuilder b = new ProcessBuilder(cmd).redirectErrorStream(true);
        b.environment().putAll(Map.of("OS_AUTH_URL", url + "/identity/v3", "OS_IDENTITY_API_VERSION", "3",
                "OS_USERNAME", user, "OS_PASSWORD", password, "OS_PROJECT_NAME", project,
                "OS_USER_DOMAIN_NAME", "Default", "OS_PROJECT_DOMAIN_NAME", "Default", "OS_REGION_NAME", "RegionOne",
                "OS_INTERFACE", "public"));
        Process p = b.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }

    /** A new project with a user of {@code role} in it, logged in. */
    Api tenant(String project, String user, String password, String role) {
        String projectId = admin.ok("POST", "/identity/v3/projects", Map.of("project", Map.of("name", project)))
                .path("project").path("id").asText();
        String userId = admin.ok("POST", "/identity/v3/users", Map.of("user", Map.of("name", user,
                "password", password, "default_project_id", projectId))).path("user").path("id").asText();
        admin.ok("PUT", "/identity/v3/projects/" + projectId + "/users/" + userId + "/roles/" + role, null);
        return Api.login(url, user, password, project);
    }

    @Override
    public void close() throws Exception {
        for (QuarkusProcess p : processes) {
            p.kill();
        }
        // The qemu driver's guests outlive their agents, as on a real host; the test's hosts end here.
        ProcessesUnder.kill(dir);
        for (String host : hostsInNamespaces) {
            HostNetwork.removeAgentNamespaces(host);
            deleteTree(Path.of("/run/stratus", host));
        }
        for (Map.Entry<Integer, HostNetwork.Namespace> ns : namespaces.entrySet()) {
            ns.getValue().close();
            NamespaceNumbers.release(NamespaceNumbers.number(ns.getKey()), name);
        }
        bus.close();
        deleteTree(dir);
    }

    private static void deleteTree(Path root) throws java.io.IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
