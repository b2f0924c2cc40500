package io.stratus.cli.up;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stratus.local.QuarkusProcess;
import io.stratus.cli.CliLogging;
import io.stratus.cli.cloud.CloudClient;
import io.stratus.cli.cloud.CloudException;
import io.stratus.kafka.EmbeddedKafkaBroker;
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
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Run the all-in-one cloud (Kafka, scheduler, one agent) and boot a demo server.")
public final class UpCommand implements Callable<Integer> {
    static final String LINUX_IMAGE = "stratus-linux";
    private static final Duration START_LIMIT = Duration.ofMinutes(3);
    private static final String AGENT_USER = "stratus-agent";

    @Spec
    CommandSpec spec;

    @Option(names = "--kit", paramLabel = "DIR", description = "Guest kit directory (bin/stratus kit).")
    Path kit = Path.of(System.getProperty("user.home"), ".cache", "stratus", "kit");

    @Option(names = "--port", defaultValue = "8774", description = "API port on 127.0.0.1 (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--kafka-port", defaultValue = "9092", description = "Kafka port (default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(names = "--image-port", defaultValue = "9292",
            description = "Image service port on 127.0.0.1 (default: ${DEFAULT-VALUE}).")
    int imagePort;

    @Option(names = "--vcpus", description = "vCPUs the agent offers (default: 4 per host CPU).")
    Integer vcpus;

    @Option(names = "--memory-mib", description = "Memory the agent offers (default: the host's, less 2 GiB).")
    Long memoryMib;

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
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(new EmbeddedKafkaBroker.Settings(home.kafka(),
                kafkaPort, QuarkusProcess.freePort(), Map.of()));
        parts.add(broker::close);
        String kafka = broker.bootstrapServers();

        String adminPassword = home.secret("admin-password");
        String url = "http://127.0.0.1:" + port;
        out.println("starting the scheduler on " + url + " (log: " + home.logs().resolve("scheduler.log") + ")");
        out.flush();
        String imageUrl = "http://127.0.0.1:" + imagePort + "/image";
        Map<String, String> scheduler = new LinkedHashMap<>();
        scheduler.put("stratus.scheduler.data-dir", home.scheduler().toString());
        scheduler.put("stratus.scheduler.image-url", imageUrl);
        scheduler.put("kafka.bootstrap.servers", kafka);
        parts.add(0, QuarkusProcess.start(schedulerApp, port, scheduler,
                Map.of("STRATUS_SCHEDULER_ADMIN_PASSWORD", adminPassword), home.logs().resolve("scheduler.log"),
                START_LIMIT, Duration.ofSeconds(20)));
        String authUrl = url + "/identity/v3";

        out.println("starting the image service on " + imageUrl + " (log: " + home.logs().resolve("image-service.log")
                + ")");
        out.flush();
        parts.add(0, QuarkusProcess.start(imageApp, imagePort, Map.of("stratus.image.data-dir",
                home.images().toString(), "stratus.image.identity-url", authUrl), home.logs().resolve(
                "image-service.log"), START_LIMIT, Duration.ofSeconds(20)));
        CloudClient admin = CloudClient.login(authUrl, "admin", adminPassword, "admin");
        String agentPassword = home.secret("agent-password");
        // The agents' service user: the service role reads every image, and nothing else.
        ensureUser(admin, "service", "Stratus' own services", AGENT_USER, agentPassword, "service");

        String host = hostName();
        int agentPort = QuarkusProcess.freePort();
        int cpus = Runtime.getRuntime().availableProcessors();
        Map<String, String> agent = new LinkedHashMap<>();
        agent.put("stratus.agent.host", host);
        agent.put("stratus.agent.data-dir", home.agent().toString());
        agent.put("stratus.agent.image-service.url", imageUrl);
        agent.put("stratus.agent.image-service.identity-url", authUrl);
        agent.put("stratus.agent.image-service.user", AGENT_USER);
        agent.put("stratus.agent.grpc-address", "127.0.0.1:" + agentPort);
        agent.put("stratus.agent.capacity.vcpus", Integer.toString(vcpus != null ? vcpus : 4 * cpus));
        agent.put("stratus.agent.capacity.memory-mib", Long.toString(memoryMib != null ? memoryMib : hostMemoryMib() - 2048));
        agent.put("stratus.agent.report-interval", "5s");
        agent.put("kafka.bootstrap.servers", kafka);
        out.println("starting agent '" + host + "' (log: " + home.logs().resolve("agent.log") + ")");
        out.flush();
        parts.add(0, QuarkusProcess.start(agentApp, agentPort, agent, Map.of("STRATUS_AGENT_IMAGE_SERVICE_PASSWORD",
                agentPassword), home.logs().resolve("agent.log"), START_LIMIT, Duration.ofSeconds(60)));

        String imageId = loadKit(admin, out);
        String demoPassword = home.secret("demo-password");
        ensureUser(admin, "demo", "a second tenant", "demo", demoPassword, "member");
        writeOpenrc(home.openrc(), authUrl, "admin", adminPassword, "admin");
        writeOpenrc(home.openrc("demo"), authUrl, "demo", demoPassword, "demo");
        awaitHost(admin, host);
        if (!noDemo) {
            bootDemo(admin, imageId, out);
        }
        Files.writeString(home.endpointFile(), url + "\n");
        out.println();
        out.println("Stratus is up: " + url + " (Identity v3 at " + authUrl + ")");
        out.println("  credentials:  . " + home.openrc() + "      (project admin; " + home.openrc("demo")
                + " for project demo)");
        out.println("  try:          openstack server list; openstack server create --flavor m1.tiny --image "
                + LINUX_IMAGE + " --wait demo2");
        out.println("                openstack console log show demo");
        out.println("  stop:         Ctrl-C here, or bin/stratus down");
        out.flush();
        stopped.await();
        return 0;
    }

    /** The kit as images: the kernel, the initramfs, and a disk that boots with them. */
    private String loadKit(CloudClient admin, PrintWriter out) throws Exception {
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

    /** The agent must have reported before a server can be placed on it. */
    private static void awaitHost(CloudClient admin, String host) throws InterruptedException {
        long deadline = System.nanoTime() + START_LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            for (JsonNode s : admin.compute("GET", "/os-services", null).path("services")) {
                if (s.path("host").asText().equals(host) && s.path("state").asText().equals("up")) {
                    return;
                }
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("agent " + host + " did not report to the scheduler within " + START_LIMIT);
    }

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
                        + "; its Linux boots to userspace in about a minute here (openstack console log show demo)");
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
