package io.stratus.cli.up;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Topics;
import io.stratus.local.HostNetwork;
import io.stratus.local.QuarkusProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The README's main command as a user runs it: {@code bin/stratus up --detach}, then Debian's
 * {@code openstack} client, unmodified, against the cloud: a server of the kit's Linux reaches
 * ACTIVE, its console shows the guest's marker, stop/start/delete work, and a second project sees
 * nothing of the first; images go in through {@code openstack image create --file} and
 * {@code bin/stratus image create} and stay private to their project. One real Linux boot (about
 * a minute where KVM emulates guest kernel code; a second or two under QEMU's emulator, which the
 * agent uses where /dev/kvm is missing).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UpIT {
    private static final Duration BOOT = Duration.ofMinutes(4);

    private final Path root = Path.of(System.getProperty("stratus.root", "..")).toAbsolutePath().normalize();
    private Path home;
    private int kafkaPort;

    @BeforeAll
    void up() throws Exception {
        home = Files.createTempDirectory("stratus-up-it-");
        kafkaPort = QuarkusProcess.freePort();
        CommandRun r = run(List.of(root.resolve("bin/stratus").toString(), "up", "--detach", "--no-demo", "--port",
                Integer.toString(QuarkusProcess.freePort()), "--kafka-port", Integer.toString(kafkaPort), "--image-port", Integer.toString(QuarkusProcess.freePort()), "--vcpus", "4",
                "--memory-mib", "2048"), Map.of(), Duration.ofMinutes(5));
        assertThat(r.code()).as(r.output()).isZero();
        assertThat(r.output()).contains("Stratus is up");
        // The scheduler registers a new host disabled (its production default); up enables the one it started.
        assertThat(r.output()).contains("enabled new host '" + UpCommand.hostName() + "'");
        assertThat(home.resolve("openrc")).exists();
    }

    @AfterAll
    void down() throws Exception {
        CommandRun r = run(List.of(root.resolve("bin/stratus").toString(), "down"), Map.of(), Duration.ofMinutes(3));
        assertThat(r.code()).as(r.output()).isZero();
        assertThat(home.resolve("up.pid")).doesNotExist();
    }

    /**
     * The bus takes clients of the cloud's CA only, each with its own rights: the agent's
     * certificate, taken from {@code $STRATUS_HOME/pki}, cannot publish a command, not even to its
     * own host. The CA and the certificates are the user's alone.
     */
    @Test
    void theBusIsAuthenticatedAndTheCertificatesArePrivate() throws Exception {
        Path pki = home.resolve("pki");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(pki))).isEqualTo("rwx------");
        List<Path> files;
        try (var walk = Files.walk(pki)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        assertThat(files).extracting(f -> f.getFileName().toString()).contains("ca.key", "ca.crt", "key.pem");
        for (Path f : files) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).as(f.toString())
                    .isEqualTo("rw-------");
        }
        Path agentDir;
        try (var dirs = Files.list(pki)) {
            agentDir = dirs.filter(d -> d.getFileName().toString().startsWith("agent-")).findFirst().orElseThrow();
        }
        String host = agentDir.getFileName().toString().substring("agent-".length());
        KafkaClientSettings agent = KafkaClientSettings.mutualTls("127.0.0.1:" + kafkaPort,
                new KafkaClientSettings.Tls(agentDir.resolve("key.pem"), agentDir.resolve("cert.pem"),
                        agentDir.resolve("ca.pem")));
        Properties p = agent.properties("up-it-forger");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
                new ByteArraySerializer())) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>(Topics.compute(host), "i-forged",
                    new byte[] {1})).get()).hasCauseInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void openstackClientDrivesAServerThroughItsLife() throws Exception {
        CommandRun key = openstack("admin", "keypair", "create", "it-key");
        assertThat(key.code()).as(key.output()).isZero();
        assertThat(key.output()).as("the private key, returned once").contains("PRIVATE KEY");
        assertThat(openstack("admin", "keypair", "list", "-f", "value", "-c", "Name").output().strip())
                .isEqualTo("it-key");
        CommandRun create = openstack("admin", "server", "create", "--flavor", "m1.tiny", "--image", "stratus-linux",
                "--key-name", "it-key", "--property", "purpose=it", "--wait", "-f", "value", "-c", "status", "demo2");
        assertThat(create.code()).as(create.output()).isZero();
        assertThat(create.output().strip()).isEqualTo("ACTIVE");

        assertThat(until(() -> openstack("admin", "console", "log", "show", "demo2").output(),
                out -> out.contains("STRATUS-GUEST-READY cpus=1"))).isTrue();
        // The hypervisor as Nova names it: the in-JVM VMM on /dev/kvm, else QEMU emulating.
        CommandRun hypervisors = openstack("admin", "hypervisor", "list", "-f", "value", "-c", "Hypervisor Hostname",
                "-c", "Hypervisor Type");
        String[] hypervisor = hypervisors.output().strip().split(" ");
        assertThat(hypervisor).as(hypervisors.output()).hasSize(2);
        assertThat(hypervisor[1]).isEqualTo(Files.exists(Path.of("/dev/kvm")) ? "KVM" : "QEMU");
        CommandRun shown = openstack("admin", "hypervisor", "show", "-f", "value", "-c", "hypervisor_type",
                hypervisor[0]);
        assertThat(shown.code()).as(shown.output()).isZero();
        assertThat(shown.output().strip()).isEqualTo(hypervisor[1]);

        CommandRun demoList = openstack("demo", "server", "list", "-f", "value");
        assertThat(demoList.code()).as(demoList.output()).isZero();
        assertThat(demoList.output().strip()).as("the demo project sees nothing of the admin project").isEmpty();
        assertThat(openstack("demo", "server", "show", "demo2").code()).isNotZero();

        assertThat(openstack("admin", "server", "stop", "demo2").code()).isZero();
        assertThat(until(() -> status("demo2"), "SHUTOFF"::equals)).isTrue();
        assertThat(openstack("admin", "server", "start", "demo2").code()).isZero();
        assertThat(until(() -> status("demo2"), "ACTIVE"::equals)).isTrue();

        CommandRun cli = run(List.of(root.resolve("bin/stratus").toString(), "server", "list"), Map.of(),
                Duration.ofMinutes(2));
        assertThat(cli.output()).contains("demo2").contains("ACTIVE");

        CommandRun renamed = openstack("admin", "server", "set", "--name", "demo3", "--property", "owner=ci", "demo2");
        assertThat(renamed.code()).as(renamed.output()).isZero();
        CommandRun shownServer = openstack("admin", "server", "show", "-f", "json", "demo3");
        assertThat(shownServer.output()).contains("\"key_name\": \"it-key\"").contains("purpose").contains("owner");
        CommandRun lock = openstack("admin", "server", "lock", "demo3");
        assertThat(lock.code()).as(lock.output()).isZero();
        assertThat(openstack("admin", "server", "unlock", "demo3").code()).isZero();
        // The server's disk becomes an image, and the server is rebuilt from it.
        CommandRun snapshot = openstack("admin", "server", "image", "create", "--name", "demo3-snap", "--wait",
                "-f", "value", "-c", "status", "demo3");
        assertThat(snapshot.code()).as(snapshot.output()).isZero();
        assertThat(snapshot.output().strip()).isEqualTo("active");
        CommandRun rebuild = openstack("admin", "server", "rebuild", "--image", "demo3-snap", "--wait", "demo3");
        assertThat(rebuild.code()).as(rebuild.output()).isZero();
        assertThat(until(() -> status("demo3"), "ACTIVE"::equals)).isTrue();
        assertThat(openstack("admin", "server", "show", "-f", "value", "-c", "image", "demo3").output())
                .contains("demo3-snap");

        CommandRun events = openstack("admin", "server", "event", "list", "-f", "value", "-c", "Action", "demo3");
        assertThat(events.code()).as(events.output()).isZero();
        assertThat(events.output().lines().toList()).containsExactly("rebuild", "createImage", "unlock", "lock",
                "start", "stop", "create");

        CommandRun delete = openstack("admin", "server", "delete", "--wait", "demo3");
        assertThat(delete.code()).as(delete.output()).isZero();
        assertThat(openstack("admin", "image", "delete", "demo3-snap").code()).isZero();
        assertThat(openstack("admin", "keypair", "delete", "it-key").code()).isZero();
        assertThat(openstack("admin", "keypair", "list", "-f", "value").output().strip()).isEmpty();
        assertThat(openstack("admin", "server", "list", "-f", "value").output().strip()).isEmpty();
    }

    @Test
    void imagesGoInThroughEitherClientAndStayInTheirProject() throws Exception {
        Path file = home.resolve("it-image.raw");
        byte[] data = new byte[4 << 20];
        new Random(7).nextBytes(data);
        Files.write(file, data);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(data));
        CommandRun create = openstack("admin", "image", "create", "--file", file.toString(), "--disk-format", "raw",
                "--container-format", "bare", "it-image");
        assertThat(create.code()).as(create.output()).isZero();
        // The client prints the record it created before the upload (queued); the upload is done when it returns.
        assertThat(openstack("admin", "image", "show", "-f", "value", "-c", "status", "it-image").output().strip())
                .isEqualTo("active");
        assertThat(openstack("admin", "image", "list", "-f", "value", "-c", "Name").output()).contains("it-image");
        CommandRun show = run(List.of(root.resolve("bin/stratus").toString(), "image", "show", "it-image"), Map.of(),
                Duration.ofMinutes(2));
        assertThat(show.output()).as(show.output()).contains(sha).contains("active");
        assertThat(openstack("demo", "image", "show", "it-image").code()).as("private to project admin").isNotZero();

        CommandRun mine = run(List.of(root.resolve("bin/stratus").toString(), "image", "create", "--file", file.toString(),
                "cli-image"), Map.of(), Duration.ofMinutes(2));
        assertThat(mine.code()).as(mine.output()).isZero();
        assertThat(mine.output()).contains("cli-image").contains("active");
        assertThat(run(List.of(root.resolve("bin/stratus").toString(), "image", "delete", "cli-image"), Map.of(),
                Duration.ofMinutes(2)).code()).isZero();
        CommandRun delete = openstack("admin", "image", "delete", "it-image");
        assertThat(delete.code()).as(delete.output()).isZero();
        assertThat(openstack("admin", "image", "list", "-f", "value", "-c", "Name").output())
                .doesNotContain("it-image").doesNotContain("cli-image");
    }

    /**
     * Every TCP socket the cloud's processes listen on (up itself with Kafka, the scheduler, the
     * image service, the agents, and what they start: QEMU, dnsmasq, the metadata proxies' haproxy,
     * which run detached, found by their files under the cloud's home) is on loopback or the agents'
     * bridge in this machine's namespace, or on a specific address inside a namespace of the
     * cloud's: none on every interface, none on an address of the machine's own networks.
     */
    @Test
    void everyListeningSocketIsOnLoopbackTheAgentsBridgeOrInsideANamespace() throws Exception {
        long pid = Long.parseLong(Files.readString(home.resolve("up.pid")).strip());
        ProcessHandle up = ProcessHandle.of(pid).orElseThrow();
        Set<Long> cloud = new TreeSet<>();
        cloud.add(pid);
        up.descendants().forEach(p -> cloud.add(p.pid()));
        try (var all = Files.list(Path.of("/proc"))) {
            for (Path proc : all.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    if (new String(Files.readAllBytes(proc.resolve("cmdline"))).contains(home.toString())) {
                        cloud.add(Long.parseLong(proc.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // Gone meanwhile.
                }
            }
        }
        String root = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        List<String> found = new ArrayList<>();
        List<String> exposed = new ArrayList<>();
        for (long p : cloud) {
            Path proc = Path.of("/proc", Long.toString(p));
            String netns;
            Set<String> sockets = new HashSet<>();
            String command;
            try {
                netns = Files.readSymbolicLink(proc.resolve("ns/net")).toString();
                command = Files.readString(proc.resolve("comm")).strip();
                try (var fds = Files.list(proc.resolve("fd"))) {
                    for (Path fd : fds.toList()) {
                        try {
                            String target = Files.readSymbolicLink(fd).toString();
                            if (target.startsWith("socket:[")) {
                                sockets.add(target.substring(8, target.length() - 1));
                            }
                        } catch (IOException e) {
                            // Closed meanwhile.
                        }
                    }
                }
            } catch (IOException e) {
                continue;
            }
            for (String table : List.of("tcp", "tcp6")) {
                for (String line : Files.readAllLines(proc.resolve("net").resolve(table))) {
                    String[] f = line.trim().split("\\s+");
                    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode; 0A is LISTEN.
                    if (f.length < 10 || !f[3].equals("0A") || !sockets.contains(f[9])) {
                        continue;
                    }
                    InetAddress address = procAddress(f[1].substring(0, f[1].indexOf(':')));
                    int port = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16);
                    boolean inRoot = netns.equals(root);
                    String where = command + " (pid " + p + (inRoot ? "" : ", namespace " + netns) + ") "
                            + address.getHostAddress() + ":" + port;
                    found.add(where);
                    boolean ok = address.isLoopbackAddress() || (inRoot
                            ? address.getHostAddress().equals(HostNetwork.GATEWAY) : !address.isAnyLocalAddress());
                    if (!ok) {
                        exposed.add(where);
                    }
                }
            }
        }
        System.out.println("listening sockets of the cloud:\n  " + String.join("\n  ", found));
        assertThat(found).as("the scheduler, the image service, the agent and Kafka were found").hasSizeGreaterThanOrEqualTo(4);
        assertThat(exposed).as("sockets open beyond loopback and the cloud's namespaces; all: " + found).isEmpty();
    }

    /** An address as /proc/net/tcp{,6} prints it: hex, in 32-bit words of host (little-endian) order. */
    private static InetAddress procAddress(String hex) throws IOException {
        byte[] b = HexFormat.of().parseHex(hex);
        for (int i = 0; i < b.length; i += 4) {
            for (int j = 0; j < 2; j++) {
                byte t = b[i + j];
                b[i + j] = b[i + 3 - j];
                b[i + 3 - j] = t;
            }
        }
        return InetAddress.getByAddress(b);
    }

    private String status(String server) throws Exception {
        return openstack("admin", "server", "show", "-f", "value", "-c", "status", server).output().strip();
    }

    private CommandRun openstack(String project, String... args) throws Exception {
        Map<String, String> env = new HashMap<>();
        Path rc = project.equals("admin") ? home.resolve("openrc") : home.resolve("openrc-" + project);
        for (String line : Files.readAllLines(rc)) {
            if (line.startsWith("export ")) {
                String kv = line.substring("export ".length());
                env.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
            }
        }
        List<String> cmd = new ArrayList<>(List.of("openstack"));
        cmd.addAll(List.of(args));
        return run(cmd, env, Duration.ofMinutes(5));
    }

    private interface Probe {
        String get() throws Exception;
    }

    private static boolean until(Probe probe, Predicate<String> done) throws Exception {
        long deadline = System.nanoTime() + BOOT.toNanos();
        while (System.nanoTime() < deadline) {
            if (done.test(probe.get())) {
                return true;
            }
            Thread.sleep(2000);
        }
        return false;
    }

    private CommandRun run(List<String> cmd, Map<String, String> env, Duration limit) throws Exception {
        return CommandRun.run(home, cmd, env, limit);
    }
}
