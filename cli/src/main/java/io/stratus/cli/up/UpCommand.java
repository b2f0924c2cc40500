package io.stratus.cli.up;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stratus.local.HostNetwork;
import io.stratus.local.QuarkusProcess;
import io.stratus.cli.CliLogging;
import io.stratus.cli.cloud.CloudClient;
import io.stratus.cli.cloud.CloudException;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.kafka.LocalBus;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code stratus up}: the all-in-one cloud on embedded defaults — the embedded Kafka broker, the
 * scheduler on its H2 file, one agent — with the guest kit loaded as images, a second project to
 * try tenant isolation with, and a demo server booted through the whole stack. It writes
 * {@code openrc} files for {@code openstack} and {@code bin/stratus}, then runs until Ctrl-C (the
 * agent saves its guests on the way down and restores them on the next {@code up}).
 *
 * <p>As root each agent is a host of its own: a process in a network namespace of its own
 * ({@link HostNetwork}), with its own data directory, reaching the broker, scheduler and image
 * service over the namespaces' bridge and the other agents at their namespaces' addresses, so that
 * servers can live-migrate between them and tenant networks run between them over VXLAN; the
 * shared network {@code private} is made for servers that name none. With {@code --agents N}
 * (N > 1) the agents are named {@code <hostname>-<i>}.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Run the all-in-one cloud (Kafka, scheduler, one or more agents) and boot a demo server.")
public final class UpCommand implements Callable<Integer> {
    static final String LINUX_IMAGE = "stratus-linux";
    static final String SMALL_CLOUD_IMAGE = "cloud-small";
    static final String DEBIAN_IMAGE = "debian-12";
    static final int MAX_AGENTS = 8;
    static final String PRIVATE_NETWORK = "private";
    /** Tenant networks are segments of their own: this range never meets the machine's networks. */
    private static final String PRIVATE_CIDR = "10.0.0.0/24";
    static final String PUBLIC_NETWORK = "public";
    static final String ROUTER = "router";
    /**
     * The cloud's outside: routers' gateways and floating IPs, on a bridge of this machine that holds
     * the subnet's gateway address. 198.18.0.0/15 is set aside for benchmarking (RFC 2544): no real
     * network the machine is on uses it.
     */
    static final HostNetwork.ExternalNetwork EXTERNAL = new HostNetwork.ExternalNetwork("stratus-ext0",
            "198.18.0.1/24");
    /** What the agents call the external network's physical network (Neutron's physnet). */
    static final String EXTERNAL_PHYSNET = "public";
    /**
     * Namespace {@code i} of this cloud is {@link HostNetwork#create} number {@code NAMESPACE_BASE + i}:
     * the integration tests number theirs from 1, and a cloud left up must not take theirs.
     */
    static final int NAMESPACE_BASE = 100;
    private static final Duration START_LIMIT = Duration.ofMinutes(3);
    private static final String AGENT_USER = "stratus-agent";

    @Spec
    CommandSpec spec;

    @Option(names = "--kit", paramLabel = "DIR", description = "Guest kit directory (bin/stratus kit).")
    Path kit = Path.of(System.getProperty("user.home"), ".cache", "stratus", "kit");

    @Option(names = "--port", defaultValue = "8774", description = "API port on 127.0.0.1, or on the agents' bridge (" + HostNetwork.GATEWAY
            + ") where agents run in network namespaces (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--kafka-port", defaultValue = "9092", description = "Kafka port (default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(names = "--image-port", defaultValue = "9292",
            description = "Image service port, on the API's address (default: ${DEFAULT-VALUE}).")
    int imagePort;

    @Option(names = "--vcpus", description = "vCPUs each agent offers (default: 4 per host CPU).")
    Integer vcpus;

    @Option(names = "--memory-mib", description = "Memory each agent offers (default: the host's, less 2 GiB,"
            + " shared among the agents).")
    Long memoryMib;

    @Option(names = "--agents", paramLabel = "N", defaultValue = "1", description = "Agents (hosts) to run, 1.."
            + MAX_AGENTS + "; more than one run in network namespaces of their own, which needs root"
            + " (default: ${DEFAULT-VALUE}).")
    int agents;

    @Option(names = "--no-demo", description = "Do not boot the demo server.")
    boolean noDemo;

    @Option(names = "--debug", description = "Print the embedded broker's log.")
    boolean debug;

    @Option(names = "--home-dir", paramLabel = "DIR", description = "State directory (default: $STRATUS_HOME or ~/.stratus).")
    Path homeDir;

    private final Path root = Path.of(System.getProperty("stratus.home", "."));

    @Override
    public Integer call() throws Exception {
        CliLogging.configure(debug);
        PrintWriter out = spec.commandLine().getOut();
        if (agents < 1 || agents > MAX_AGENTS) {
            throw new IllegalArgumentException("--agents must be 1.." + MAX_AGENTS + ", not " + agents);
        }
        // As root every agent is a host in a namespace of its own, where it keeps its tenant networks'
        // bridges, tunnels and filters (down removes them with it); without root there is one agent,
        // in this namespace, and servers have no networks.
        boolean namespaces = agents > 1 || HostNetwork.available();
        if (namespaces && !HostNetwork.available()) {
            throw new IllegalArgumentException("--agents " + agents + " runs each agent in a network namespace of its"
                    + " own, which needs root and iproute2's ip command: run it as root (sudo bin/stratus up --agents "
                    + agents + "), or without --agents for one agent");
        }
        CloudHome home = homeDir != null ? new CloudHome(homeDir) : CloudHome.fromEnvironment();
        Optional<ProcessHandle> running = home.running();
        if (running.isPresent() && running.get().pid() != ProcessHandle.current().pid()) {
            throw new IllegalStateException("a cloud already runs from " + home.dir() + " (pid " + running.get().pid()
                    + "); bin/stratus down stops it");
        }
        Path schedulerApp = root.resolve("scheduler/target/quarkus-app/quarkus-run.jar");
        Path agentApp = root.resolve("agent/target/quarkus-app/quarkus-run.jar");
        Path imageApp = root.resolve("image-service/target/quarkus-app/quarkus-run.jar");
        for (Path p : List.of(kit.resolve("test-kernel/vmlinux"), kit.resolve("initramfs.cpio"),
                kit.resolve("disk.img"), schedulerApp, agentApp, imageApp)) {
            if (!Files.isRegularFile(p)) {
                throw new IllegalArgumentException(p + " is missing: run bin/stratus up (it builds the kit and the"
                        + " services)");
            }
        }
        Files.createDirectories(home.logs());
        Files.writeString(home.pidFile(), ProcessHandle.current().pid() + "\n");
        List<AutoCloseable> parts = new ArrayList<>();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopAll(parts, home);
            stopped.countDown();
        }, "stratus-down"));

        out.println("starting Kafka on 127.0.0.1:" + kafkaPort);
        out.flush();
        Map<String, String> brokerExtra = Map.of();
        int controllerPort = QuarkusProcess.freePort();
        int bridgeKafkaPort = 0;
        if (namespaces) {
            // A second listener on the bridge for the agents, none on the machine's other networks.
            HostNetwork.bridge();
            bridgeKafkaPort = QuarkusProcess.freePort();
            brokerExtra = Map.of(
                    "listeners", "SSL://127.0.0.1:" + kafkaPort + ",BRIDGE://" + HostNetwork.GATEWAY + ":"
                            + bridgeKafkaPort + ",CONTROLLER://127.0.0.1:" + controllerPort,
                    "advertised.listeners", "SSL://127.0.0.1:" + kafkaPort + ",BRIDGE://" + HostNetwork.GATEWAY
                            + ":" + bridgeKafkaPort,
                    "listener.security.protocol.map", "SSL:SSL,BRIDGE:SSL,CONTROLLER:SSL");
        }
        // Every client of the bus proves who it is: the CA and the certificates live under the cloud's home.
        LocalBus bus = LocalBus.start(new EmbeddedKafkaBroker.Settings(home.kafka(), kafkaPort, controllerPort,
                brokerExtra), home.pki(), namespaces ? List.of(HostNetwork.GATEWAY) : List.of());
        parts.add(bus::close);
        String kafka = bus.bootstrapServers();
        String agentKafka = namespaces ? HostNetwork.GATEWAY + ":" + bridgeKafkaPort : kafka;

        String adminPassword = home.secret("admin-password");
        // What the agents' metadata proxies sign instance ids with, and the scheduler checks.
        String metadataSecret = home.secret("metadata-secret");
        // The API and the image service listen on loopback; with namespaces on the agents' bridge
        // instead (this machine reaches it too), never on every interface: none of the cloud's ports
        // is open to the networks this machine is on.
        String listen = namespaces ? HostNetwork.GATEWAY : "127.0.0.1";
        String url = "http://" + listen + ":" + port;
        out.println("starting the scheduler on " + url + " (log: " + home.logs().resolve("scheduler.log") + ")");
        out.flush();
        String imageUrl = "http://" + listen + ":" + imagePort + "/image";
        Map<String, String> scheduler = new LinkedHashMap<>();
        scheduler.put("stratus.scheduler.data-dir", home.scheduler().toString());
        scheduler.put("stratus.scheduler.image-url", imageUrl);
        // Volumes are exported over NBD where the agents reach the control plane, as the image service is.
        scheduler.put("stratus.volume.nbd.address", listen);
        // The control plane's bus identity is also what it calls the agents' gRPC with.
        scheduler.putAll(bus.controlPlane().serviceConfig());
        scheduler.put("quarkus.http.host", listen);
        Map<String, String> image = new LinkedHashMap<>();
        image.put("quarkus.http.host", listen);
        parts.add(0, QuarkusProcess.start(schedulerApp, port, scheduler,
                Map.of("STRATUS_SCHEDULER_ADMIN_PASSWORD", adminPassword, "STRATUS_METADATA_SHARED_SECRET",
                        metadataSecret), home.logs().resolve("scheduler.log"),
                START_LIMIT, Duration.ofSeconds(20)));
        String authUrl = url + "/identity/v3";

        out.println("starting the image service on " + imageUrl + " (log: " + home.logs().resolve("image-service.log")
                + ")");
        out.flush();
        image.put("stratus.image.data-dir", home.images().toString());
        image.put("stratus.image.identity-url", authUrl);
        // The dashboard, served by the scheduler at another origin, uploads and lists images from the browser.
        image.put("quarkus.http.cors.origins", url);
        parts.add(0, QuarkusProcess.start(imageApp, imagePort, image, home.logs().resolve("image-service.log"),
                START_LIMIT, Duration.ofSeconds(20)));
        CloudClient admin = CloudClient.login(authUrl, "admin", adminPassword, "admin");
        String agentPassword = home.secret("agent-password");
        // The agents' service user: the service role reads every image, and nothing else.
        ensureUser(admin, "service", "Stratus' own services", AGENT_USER, agentPassword, "service");

        Map<String, String> agent = new LinkedHashMap<>();
        agent.put("stratus.agent.image-service.url", imageUrl);
        agent.put("stratus.agent.image-service.identity-url", authUrl);
        agent.put("stratus.agent.image-service.user", AGENT_USER);
        int cpus = Runtime.getRuntime().availableProcessors();
        agent.put("stratus.agent.capacity.vcpus", Integer.toString(vcpus != null ? vcpus : 4 * cpus));
        agent.put("stratus.agent.capacity.memory-mib", Long.toString(memoryMib != null ? memoryMib
                : agents == 1 ? hostMemoryMib() - 2048 : Math.max(512, (hostMemoryMib() - 2048) / agents)));
        agent.put("stratus.agent.report-interval", "5s");
        // down ends the cloud's guests: QEMU's would otherwise run on after it (the next up boots them again).
        agent.put("stratus.agent.qemu.keep-guests-on-stop", "false");
        // The metadata service's address goes in the environment with its secret: an agent that does not
        // know these settings yet ignores them there, where a -D setting it does not know stops it.
        Map<String, String> agentEnv = Map.of("STRATUS_AGENT_IMAGE_SERVICE_PASSWORD", agentPassword,
                "STRATUS_AGENT_METADATA_URL", url + "/metadata",
                "STRATUS_AGENT_METADATA_SHARED_SECRET", metadataSecret);
        List<String> hosts = new ArrayList<>();
        List<String> hostLines = new ArrayList<>();
        if (!namespaces) {
            String host = hostName();
            int agentPort = QuarkusProcess.freePort();
            agent.put("stratus.agent.host", host);
            agent.putAll(bus.agent(host).withBootstrapServers(agentKafka).serviceConfig());
            agent.put("stratus.agent.data-dir", home.agent().toString());
            agent.put("stratus.agent.grpc-address", "127.0.0.1:" + QuarkusProcess.freePort());
            agent.put("quarkus.http.host", "127.0.0.1");
            out.println("starting agent '" + host + "' (log: " + home.logs().resolve("agent.log") + ")");
            out.flush();
            parts.add(0, QuarkusProcess.start(agentApp, agentPort, agent, agentEnv, home.logs().resolve("agent.log"),
                    START_LIMIT, Duration.ofSeconds(60)));
            hosts.add(host);
            hostLines.add(host + " (" + agent.get("stratus.agent.grpc-address") + ", data " + home.agent() + ")");
        } else {
            List<String> created = new ArrayList<>();
            for (int i = 1; i <= agents; i++) {
                // One agent keeps the name and data of the agent a cloud without namespaces had.
                String host = agents == 1 ? hostName() : hostName() + "-" + i;
                Path data = agents == 1 ? home.agent() : home.agent(i);
                HostNetwork.Namespace ns = HostNetwork.create(NAMESPACE_BASE + i);
                parts.add(0, ns);
                EXTERNAL.plug(ns, NAMESPACE_BASE + i);
                parts.add(0, () -> HostNetwork.removeAgentNamespaces(host));
                created.add(ns.name() + " " + host);
                // bin/stratus down removes what is listed here should this process die without its hook.
                Files.writeString(home.namespacesFile(), String.join("\n", created) + "\n");
                int agentPort = QuarkusProcess.freePort();
                Map<String, String> settings = new LinkedHashMap<>(agent);
                settings.put("stratus.agent.host", host);
                settings.putAll(bus.agent(host).withBootstrapServers(agentKafka).serviceConfig());
                settings.put("stratus.agent.data-dir", data.toString());
                settings.put("stratus.agent.grpc-address", ns.address() + ":" + QuarkusProcess.freePort());
                settings.put("quarkus.http.host", ns.address());
                settings.put("stratus.agent.network.physical-interfaces", EXTERNAL_PHYSNET + ":"
                        + HostNetwork.ExternalNetwork.EXTERNAL_INTERFACE);
                // The first host runs the routers (Neutron's L3 agent); every host reaches the outside.
                settings.put("stratus.agent.network.l3-agent", Boolean.toString(i == 1));
                Path log = home.logs().resolve(agents == 1 ? "agent.log" : "agent-" + i + ".log");
                out.println("starting agent '" + host + "' in network namespace " + ns.name() + " at " + ns.address()
                        + " (log: " + log + ")");
                out.flush();
                parts.add(0, QuarkusProcess.startIn(ns, agentApp, agentPort, settings, agentEnv, log, START_LIMIT,
                        Duration.ofSeconds(60)));
                hosts.add(host);
                hostLines.add(host + " (" + settings.get("stratus.agent.grpc-address") + " in namespace " + ns.name()
                        + ", data " + data + ")");
            }
        }

        String imageId = loadKit(admin, out);
        if (namespaces) {
            String subnet = ensurePrivateNetwork(admin, out);
            ensureRouter(admin, subnet, ensurePublicNetwork(admin, out), out);
        }
        String demoPassword = home.secret("demo-password");
        ensureUser(admin, "demo", "a second tenant", "demo", demoPassword, "member");
        writeOpenrc(home.openrc(), authUrl, "admin", adminPassword, "admin");
        writeOpenrc(home.openrc("demo"), authUrl, "demo", demoPassword, "demo");
        for (String host : hosts) {
            awaitHost(admin, host, out);
        }
        if (!noDemo) {
            bootDemo(admin, imageId, out);
        }
        Files.writeString(home.endpointFile(), url + "\n");
        out.println();
        out.println("Stratus is up: " + url + " (Identity v3 at " + authUrl + ")");
        out.println("  credentials:  . " + home.openrc() + "      (project admin; " + home.openrc("demo")
                + " for project demo)");
        out.println("  hosts:        " + String.join("\n                ", hostLines));
        out.println("  try:          openstack server list; openstack server create --flavor m1.tiny --image "
                + LINUX_IMAGE + " --wait demo2");
        out.println("                openstack console log show demo; openstack console url show --serial demo");
        out.println("  dashboard:    " + url + "/dashboard/   (log in as in the openrc files; a server's page has its"
                + " serial console)");
        out.println("  cloud images: openstack keypair create --public-key ~/.ssh/id_ed25519.pub mykey");
        out.println("                openstack server create --flavor m1.small --image " + DEBIAN_IMAGE
                + " --key-name mykey --user-data script.sh --network " + PRIVATE_NETWORK + " --wait web");
        if (namespaces) {
            out.println("                openstack floating ip create " + PUBLIC_NETWORK
                    + "; openstack server add floating ip web <floating address>");
            out.println("                ssh debian@<floating address>   (" + SMALL_CLOUD_IMAGE + ": root@; open tcp/22"
                    + " first: openstack security group rule create --protocol tcp --dst-port 22 default)");
            out.println("                servers reach this machine at " + EXTERNAL.gateway() + " through "
                    + ROUTER + " (SNAT)");
            out.println("                bin/stratus host drain " + hosts.get(0) + "   (live-migrates its servers away)");
        }
        out.println("  stop:         Ctrl-C here, or bin/stratus down");
        out.flush();
        stopped.await();
        return 0;
    }

    /**
     * The kit as images: the kernel, the initramfs, and a disk that boots with them; and the two
     * whole-disk cloud images (the small busybox one with dropbear, and Debian 12 with cloud-init),
     * which take a key and user data from the metadata service or a config drive.
     */
    private String loadKit(CloudClient admin, PrintWriter out) throws Exception {
        ensureImage(admin, SMALL_CLOUD_IMAGE, kit.resolve("cloud-small.qcow2"), Map.of("disk_format", "qcow2",
                "container_format", "bare", "min_ram", 64), out);
        // Its root filesystem is 2 GiB: m1.small and up (Nova refuses a flavor disk below min_disk).
        ensureImage(admin, DEBIAN_IMAGE, kit.resolve("debian-12.qcow2"), Map.of("disk_format", "qcow2",
                "container_format", "bare", "min_ram", 512, "min_disk", 2, "os_distro", "debian",
                "os_version", "12"), out);
        String kernel = ensureImage(admin, "stratus-kit-kernel", kit.resolve("test-kernel/vmlinux"),
                Map.of("disk_format", "aki", "container_format", "aki"), out);
        String ramdisk = ensureImage(admin, "stratus-kit-initramfs", kit.resolve("initramfs.cpio"),
                Map.of("disk_format", "ari", "container_format", "ari"), out);
        // The kit's init runs what stratus.run names and powers off after: a shell on the serial
        // console keeps the server up until it is stopped.
        return ensureImage(admin, LINUX_IMAGE, kit.resolve("disk.img"), Map.of("disk_format", "raw",
                "container_format", "bare", "kernel_id", kernel, "ramdisk_id", ramdisk,
                "os_command_line", "panic=-1 stratus.run=/bin/sh", "min_ram", 64), out);
    }

    /**
     * The external network {@code public}: flat, on each host's leg to {@link #EXTERNAL}, its subnet
     * without DHCP (nothing boots on it) and the machine's address as gateway, owned by the service
     * project, made if missing.
     *
     * @return the network's id
     */
    private static String ensurePublicNetwork(CloudClient admin, PrintWriter out) {
        JsonNode found = admin.network("GET", "/v2.0/networks?name=" + PUBLIC_NETWORK, null).path("networks");
        if (!found.isEmpty()) {
            return found.path(0).path("id").asText();
        }
        Map<String, Object> network = new LinkedHashMap<>();
        network.put("name", PUBLIC_NETWORK);
        network.put("router:external", true);
        network.put("provider:network_type", "flat");
        network.put("provider:physical_network", EXTERNAL_PHYSNET);
        // The service project's, as devstack makes it: a network the admin project owned would be one
        // more network its servers could go on, and a boot naming none would have to choose (Nova: 409).
        network.put("project_id", admin.identity("GET", "/projects?name=service", null).path("projects").path(0)
                .path("id").asText());
        String id = admin.network("POST", "/v2.0/networks", CloudClient.object(Map.of("network", network)))
                .path("network").path("id").asText();
        String prefix = EXTERNAL.gateway().substring(0, EXTERNAL.gateway().lastIndexOf('.') + 1);
        admin.network("POST", "/v2.0/subnets", CloudClient.object(Map.of("subnet", Map.of("name",
                PUBLIC_NETWORK + "-subnet", "network_id", id, "ip_version", 4, "cidr", EXTERNAL.cidr(),
                "gateway_ip", EXTERNAL.gateway(), "enable_dhcp", false, "allocation_pools",
                List.of(Map.of("start", prefix + "10", "end", prefix + "250"))))));
        out.println("network " + PUBLIC_NETWORK + " (" + id + ", " + EXTERNAL.cidr() + ", external, on bridge "
                + EXTERNAL.bridge() + ") made");
        out.flush();
        return id;
    }

    /** The router {@code router} between {@code private}'s subnet and {@code public}, made if missing. */
    private static void ensureRouter(CloudClient admin, String privateSubnet, String publicNetwork, PrintWriter out) {
        if (!admin.network("GET", "/v2.0/routers?name=" + ROUTER, null).path("routers").isEmpty()) {
            return;
        }
        String id = admin.network("POST", "/v2.0/routers", CloudClient.object(Map.of("router", Map.of("name", ROUTER,
                "external_gateway_info", Map.of("network_id", publicNetwork))))).path("router").path("id").asText();
        admin.network("PUT", "/v2.0/routers/" + id + "/add_router_interface", CloudClient.object(Map.of(
                "subnet_id", privateSubnet)));
        out.println("router " + ROUTER + " (" + id + ") joins " + PRIVATE_NETWORK + " to " + PUBLIC_NETWORK + " (SNAT)");
        out.flush();
    }

    /**
     * The shared network {@code private} with an IPv4 subnet and DHCP, made if missing: a server
     * created with no {@code networks} gets a port on it, as Nova does when one network is available.
     */
    private static String ensurePrivateNetwork(CloudClient admin, PrintWriter out) {
        JsonNode found = admin.network("GET", "/v2.0/networks?name=" + PRIVATE_NETWORK, null).path("networks");
        if (!found.isEmpty()) {
            return found.path(0).path("subnets").path(0).asText();
        }
        String id = admin.network("POST", "/v2.0/networks", CloudClient.object(Map.of("network", Map.of("name",
                PRIVATE_NETWORK, "shared", true)))).path("network").path("id").asText();
        String subnet = admin.network("POST", "/v2.0/subnets", CloudClient.object(Map.of("subnet", Map.of("name",
                PRIVATE_NETWORK + "-subnet", "network_id", id, "ip_version", 4, "cidr", PRIVATE_CIDR,
                "enable_dhcp", true)))).path("subnet").path("id").asText();
        out.println("network " + PRIVATE_NETWORK + " (" + id + ", " + PRIVATE_CIDR + ", shared) made");
        out.flush();
        return subnet;
    }

    private static String ensureImage(CloudClient admin, String name, Path file, Map<String, Object> fields,
                                      PrintWriter out) throws Exception {
        Optional<JsonNode> found = admin.imageNamed(name);
        if (found.isPresent() && found.get().path("status").asText().equals("active")) {
            return found.get().path("id").asText();
        }
        if (found.isPresent()) {
            admin.image("DELETE", "/v2/images/" + found.get().path("id").asText(), null);
        }
        Map<String, Object> body = new LinkedHashMap<>(fields);
        body.put("name", name);
        body.put("visibility", "public");
        String id = admin.image("POST", "/v2/images", CloudClient.object(body)).path("id").asText();
        admin.upload(id, file);
        out.println("image " + name + " (" + id + ") loaded from " + file);
        out.flush();
        return id;
    }

    /**
     * Project {@code project} and its user {@code user} with {@code role} in it, made if missing
     * (a restarted cloud keeps both and the user's first password).
     */
    private static void ensureUser(CloudClient admin, String project, String description, String user,
                                   String password, String role) {
        JsonNode projects = admin.identity("GET", "/projects?name=" + project, null).path("projects");
        String projectId = projects.isEmpty()
                ? admin.identity("POST", "/projects", CloudClient.object(Map.of("project", Map.of("name", project,
                "description", description)))).path("project").path("id").asText()
                : projects.get(0).path("id").asText();
        JsonNode users = admin.identity("GET", "/users?name=" + user, null).path("users");
        String userId = users.isEmpty()
                ? admin.identity("POST", "/users", CloudClient.object(Map.of("user", Map.of("name", user,
                "password", password, "default_project_id", projectId)))).path("user").path("id").asText()
                : users.get(0).path("id").asText();
        admin.identity("PUT", "/projects/" + projectId + "/users/" + userId + "/roles/" + role, null);
    }

    /**
     * The agent must have reported before a server can be placed on it. The scheduler registers a
     * new host disabled (as a production one does, {@code stratus.scheduler.new-hosts-enabled}):
     * this cloud started the agent itself, so it enables it, as an operator would, once. A host
     * an operator disabled since (any other reason) stays disabled.
     */
    private static void awaitHost(CloudClient admin, String host, PrintWriter out) throws InterruptedException {
        long deadline = System.nanoTime() + START_LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            for (JsonNode s : admin.compute("GET", "/os-services", null).path("services")) {
                if (s.path("host").asText().equals(host) && s.path("state").asText().equals("up")) {
                    if (s.path("status").asText().equals("disabled")
                            && s.path("disabled_reason").asText().equals(NEW_HOST_DISABLED)) {
                        admin.compute("PUT", "/os-services/enable", CloudClient.object(Map.of("host", host,
                                "binary", "nova-compute")));
                        out.println("enabled new host '" + host + "'");
                        out.flush();
                    }
                    return;
                }
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("agent " + host + " did not report to the scheduler within " + START_LIMIT);
    }

    /**
     * The scheduler's reason on a host it registered disabled (its {@code NEW_HOST_DISABLED}; the
     * cli does not depend on the scheduler module, so it is written again here).
     */
    static final String NEW_HOST_DISABLED = "New compute service disabled due to config option.";

    private static void bootDemo(CloudClient admin, String imageId, PrintWriter out) throws InterruptedException {
        for (JsonNode s : admin.compute("GET", "/servers?name=%5Edemo%24", null).path("servers")) {
            out.println("server demo exists (" + s.path("id").asText() + ")");
            return;
        }
        ObjectNode body = CloudClient.object(Map.of("server", Map.of("name", "demo", "flavorRef", "1",
                "imageRef", imageId)));
        String id = admin.compute("POST", "/servers", body).path("server").path("id").asText();
        out.println("booting server demo (" + id + ")");
        out.flush();
        long deadline = System.nanoTime() + START_LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode s = admin.compute("GET", "/servers/" + id, null).path("server");
            String status = s.path("status").asText();
            if (status.equals("ACTIVE")) {
                out.println("server demo is ACTIVE on " + s.path("OS-EXT-SRV-ATTR:host").asText()
                        + "; its console: openstack console log show demo");
                return;
            }
            if (status.equals("ERROR")) {
                throw new CloudException(0, "server demo went to ERROR: " + s.path("fault").path("message").asText());
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("server demo did not become ACTIVE within " + START_LIMIT);
    }

    private static void writeOpenrc(Path file, String authUrl, String user, String password, String project)
            throws Exception {
        CloudHome.writePrivate(file, String.join("\n",
                "# Stratus credentials for project " + project + ": . this file, then openstack ... or bin/stratus ...",
                "export OS_AUTH_URL=" + authUrl,
                "export OS_IDENTITY_API_VERSION=3",
                "export OS_USERNAME=" + user,
                "export OS_PASSWORD=" + password,
                "export OS_PROJECT_NAME=" + project,
                "export OS_USER_DOMAIN_NAME=Default",
                "export OS_PROJECT_DOMAIN_NAME=Default",
                "export OS_REGION_NAME=RegionOne",
                "export OS_INTERFACE=public", ""));
    }

    private static void stopAll(List<AutoCloseable> parts, CloudHome home) {
        for (AutoCloseable p : parts) {
            try {
                p.close();
            } catch (Exception e) {
                System.err.println("stratus: stopping " + p + ": " + e.getMessage());
            }
        }
        try {
            Files.deleteIfExists(home.namespacesFile());
            Files.deleteIfExists(home.pidFile());
            Files.deleteIfExists(home.endpointFile());
        } catch (Exception e) {
            System.err.println("stratus: " + e.getMessage());
        }
    }

    /** The host's name as a topic-safe agent name. */
    static String hostName() {
        String name;
        try {
            name = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            name = "stratus-host";
        }
        name = name.replaceAll("[^A-Za-z0-9._-]", "-");
        return name.isEmpty() ? "stratus-host" : name;
    }

    private static long hostMemoryMib() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
            }
        }
        return 4096;
    }
}
