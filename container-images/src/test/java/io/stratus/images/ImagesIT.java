package io.stratus.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.local.QuarkusProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The images as a container runtime would run them, without one: each image's layers unpacked in
 * order into a root file system, its configured entrypoint, user and environment run there
 * (chroot into a bind mount of it, in a private mount namespace with /proc, and /dev for the
 * agent's /dev/kvm), and the
 * service answers its health check — against a real Kafka broker.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImagesIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final Duration START = Duration.ofMinutes(2);

    private final Path images = Path.of(System.getProperty("stratus.images"));
    private Path work;
    private EmbeddedKafkaBroker broker;

    @BeforeAll
    void start() throws Exception {
        work = Files.createTempDirectory("stratus-images-it-");
        broker = EmbeddedKafkaBroker.start(EmbeddedKafkaBroker.Settings.ephemeral(work.resolve("kafka")));
    }

    @AfterAll
    void stop() throws Exception {
        if (broker != null) {
            broker.close();
        }
        try (Stream<Path> walk = Files.walk(work)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** A running container: its process, the port its service listens on, its output. */
    private record Container(String name, Process process, int port, Path log) {
    }

    @Test
    void everyImageRunsItsService() throws Exception {
        // Started together: each is a JVM starting Quarkus, on two cores.
        long t0 = System.nanoTime();
        List<Container> all = List.of(
                start("image-service", "1000", 9292, Map.of("STRATUS_IMAGE_DATA_DIR", "/tmp/images"), false),
                start("scheduler", "1000", 8774, Map.of("STRATUS_SCHEDULER_DATA_DIR", "/tmp/scheduler",
                        "KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers()), false),
                // The agent with the host's /dev (its /dev/kvm), as the chart's DaemonSet mounts it.
                start("agent", "0", 8081, Map.of("STRATUS_AGENT_HOST", "image-test", "STRATUS_AGENT_DATA_DIR",
                        "/tmp/agent", "STRATUS_AGENT_CAPACITY_VCPUS", "2", "STRATUS_AGENT_CAPACITY_MEMORY_MIB", "512",
                        "KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers()), true));
        try {
            long deadline = System.nanoTime() + START.toNanos();
            for (Container c : all) {
                int status = 0;
                while (status != 200 && System.nanoTime() < deadline && c.process().isAlive()) {
                    status = health(c.port());
                    Thread.sleep(300);
                }
                assertThat(status).as(c.name() + " answered /q/health/live; its output:\n"
                        + Files.readString(c.log())).isEqualTo(200);
                System.out.printf("%s healthy after %.1f s; %s%n", c.name(), (System.nanoTime() - t0) / 1e9,
                        Files.readAllLines(c.log()).stream()
                        .filter(l -> l.contains("started in")).findFirst().orElse("?"));
            }
        } finally {
            // The service first: a process that changed its user has lost unshare's --kill-child.
            for (Container c : all) {
                c.process().descendants().forEach(ProcessHandle::destroyForcibly);
                c.process().destroyForcibly().waitFor(20, TimeUnit.SECONDS);
            }
        }
    }

    /** Unpacks image {@code name} and starts its entrypoint as a container would. */
    private Container start(String name, String user, int port, Map<String, String> env, boolean devices)
            throws Exception {
        Path tar = images.resolve(name + ".tar");
        assertThat(tar).exists();
        Path unpacked = Files.createDirectories(work.resolve(name + "-archive"));
        run(List.of("tar", "-xf", tar.toString(), "-C", unpacked.toString()));
        JsonNode manifest = JSON.readTree(unpacked.resolve("manifest.json").toFile()).get(0);
        assertThat(manifest.path("RepoTags").get(0).asText()).startsWith("stratus/" + name + ":");
        JsonNode config = JSON.readTree(unpacked.resolve(manifest.path("Config").asText()).toFile()).path("config");
        assertThat(config.path("User").asText()).isEqualTo(user);
        assertThat(config.path("ExposedPorts").has(port + "/tcp")).isTrue();
        Path root = Files.createDirectories(work.resolve(name + "-root"));
        for (JsonNode layer : manifest.path("Layers")) {
            run(List.of("tar", "-xzf", unpacked.resolve(layer.asText()).toString(), "-C", root.toString()));
        }
        Files.createDirectories(root.resolve("proc"));
        Files.createDirectories(root.resolve("dev"));

        // The container's process: its entrypoint, as its user, with its environment and ours.
        List<String> entrypoint = new ArrayList<>();
        config.path("Entrypoint").forEach(a -> entrypoint.add(a.asText()));
        Map<String, String> environment = new LinkedHashMap<>();
        config.path("Env").forEach(e -> environment.put(e.asText().substring(0, e.asText().indexOf('=')),
                e.asText().substring(e.asText().indexOf('=') + 1)));
        int hostPort = QuarkusProcess.freePort();
        environment.putAll(env);
        environment.put("QUARKUS_HTTP_PORT", Integer.toString(hostPort));
        // The root a mount point of its own, as a container's is (the agent sizes its file system).
        StringBuilder script = new StringBuilder("mount --bind " + root + " " + root + " && mount -t proc proc "
                + root + "/proc");
        // Every container has /dev (urandom, null...); the agent's is the host's, with /dev/kvm.
        if (devices) {
            script.append(" && mount --rbind /dev ").append(root).append("/dev");
        } else {
            script.append(" && mount -t tmpfs dev ").append(root).append("/dev");
            for (String node : List.of("null", "zero", "random", "urandom")) {
                script.append(" && touch ").append(root).append("/dev/").append(node).append(" && mount --bind /dev/")
                        .append(node).append(' ').append(root).append("/dev/").append(node);
            }
        }
        script.append(" && exec chroot --userspec=").append(user).append(':').append(user).append(' ').append(root);
        for (String a : entrypoint) {
            script.append(' ').append(a);
        }
        ProcessBuilder b = new ProcessBuilder("unshare", "--mount", "--fork", "--kill-child", "sh", "-c",
                script.toString()).redirectErrorStream(true).redirectOutput(work.resolve(name + ".log").toFile());
        b.environment().clear();
        b.environment().putAll(environment);
        b.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        if (!"0".equals(user)) {
            Path tmp = root.resolve("tmp");
            run(List.of("chown", user + ":" + user, tmp.toString()));
        }
        return new Container(name, b.start(), hostPort, work.resolve(name + ".log"));
    }

    private static int health(int port) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/live"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException | InterruptedException e) {
            return 0;
        }
    }

    private static void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
    }
}
