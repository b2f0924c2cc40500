package io.stratus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.local.HostNetwork;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tenant networks through the whole stack: the services as deployed and two agents, each in a
 * network namespace of its own (two hosts on one machine), per hypervisor driver.
 *
 * <p><b>Throughput</b>: two guests (the kit's test kernel and initramfs, a script disk) on one
 * tenant network with fixed addresses; the receiver runs {@code nc -l} in a loop, the sender
 * pipes {@code dd} from {@code /dev/zero} into {@code nc} for each round and prints the guest's
 * {@code /proc/uptime} (10 ms) before and after: busybox {@code nc} exits only once the receiver
 * closed, having read everything. The pair once on one host (both TAPs on one bridge: the
 * baseline), once on two hosts (the bridge, the VXLAN tunnel between the namespaces, the other
 * host's bridge: Stratus' path under test); the receiver is on the same host in both. Each guest is
 * placed by disabling the other host's compute service while it is scheduled (an affinity server
 * group cannot place its first member here: the scheduler counts the member being placed as one
 * already running somewhere, and finds no host).
 *
 * <p><b>Port create+bind</b>: K ports created one after the other through the Network API with
 * {@code binding:host_id}, timed until the last answer and until the host's agent applied them
 * all (its {@code stratus_agent_network_ports} gauge on /metrics); the baseline is the same K
 * ports created unbound, which publish nothing to any host.
 */
public final class TenantNetBenchmark {
    static final String BASELINE = "baseline";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Namespaces {@code stratus-150}, {@code stratus-151}: tests use 1..N, {@code bin/stratus up} 101 on. */
    private static final int FIRST_NAMESPACE = 150;
    private static final String CIDR = "10.91.0.0/16";
    private static final String RECEIVER_IP = "10.91.0.10";
    private static final String SENDER_IP = "10.91.0.11";
    private static final int TCP_PORT = 5001;
    private static final int BLOCK = 64 << 10;
    private static final int MEMORY_MIB = 128;
    private static final Duration ACTIVE_LIMIT = Duration.ofMinutes(3);
    private static final Duration APPLY_LIMIT = Duration.ofMinutes(2);
    private static final Pattern ROUND = Pattern.compile("(?m)^TN-ROUND (\\d+) (\\d+\\.\\d+) (\\d+\\.\\d+)\\r?$");
    private static final Pattern RETRY = Pattern.compile("(?m)^TN-RETRY ");

    private TenantNetBenchmark() {
    }

    /** The drivers a run covers: qemu always, kvm where this machine has a usable /dev/kvm. */
    static List<String> drivers(List<String> notes) {
        Path kvm = Path.of("/dev/kvm");
        if (Files.isReadable(kvm) && Files.isWritable(kvm)) {
            return List.of("qemu", "kvm");
        }
        String why = "kvm driver not run: " + (Files.exists(kvm) ? "/dev/kvm is not readable and writable here"
                : "this machine has no /dev/kvm");
        System.err.println("tenant-net: " + why);
        notes.add(why);
        return List.of("qemu");
    }

    /**
     * @param sizeMiB MiB the sender sends per round
     * @param rounds  transfers per placement, and port batches per kind
     * @param ports   ports per batch
     */
    public static BenchReport run(BenchCloud.Apps apps, Path kit, Path work, int sizeMiB, int rounds, int ports)
            throws Exception {
        if (sizeMiB < 1 || rounds < 1 || ports < 1) {
            throw new IllegalArgumentException("--size-mib, --rounds and --ports must be at least 1");
        }
        List<String> notes = new ArrayList<>();
        Samples samples = new Samples();
        List<Measurement> measured = new ArrayList<>();
        for (String driver : drivers(notes)) {
            String on = " [" + driver + " driver]";
            String tcp = "TCP guest to guest, " + sizeMiB + " MiB" + on;
            String created = "ports created, API answered, " + ports + " in a row" + on;
            String applied = "ports created and on the host, " + ports + " in a row" + on;
            String a = "tn-" + FIRST_NAMESPACE;
            String b = "tn-" + (FIRST_NAMESPACE + 1);
            Map<String, String> settings = Map.of("stratus.agent.driver", driver,
                    "stratus.agent.capacity.vcpus", "8", "stratus.agent.capacity.memory-mib", "1024");
            long t0 = System.nanoTime();
            try (BenchCloud cloud = BenchCloud.startOnHosts(apps, Files.createDirectories(work.resolve(driver)),
                    List.of(new BenchCloud.Host(a, FIRST_NAMESPACE, settings),
                            new BenchCloud.Host(b, FIRST_NAMESPACE + 1, settings)))) {
                Tenant t = Tenant.setUp(cloud, kit, work.resolve(driver), sizeMiB, rounds);
                List<String> hosts = List.of(a, b);
                throughput(cloud, t, hosts, a, a, BASELINE, sizeMiB, rounds, samples, tcp, notes, on);
                throughput(cloud, t, hosts, a, b, BenchReport.STRATUS, sizeMiB, rounds, samples, tcp, notes, on);
                portRate(cloud, t, a, ports, rounds, samples, created, applied);
            }
            notes.add(String.format(Locale.ROOT, "%s driver: the whole run took %.0f s", driver,
                    (System.nanoTime() - t0) / 1e9));
            measured.add(samples.measurement(tcp, "MiB/s", true));
            measured.add(samples.measurement(created, "ports/s", true));
            measured.add(samples.measurement(applied, "ports/s", true));
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("cloud", "scheduler, image service and two agents as their own processes, each agent in a network"
                + " namespace of its own (stratus-" + FIRST_NAMESPACE + ", stratus-" + (FIRST_NAMESPACE + 1)
                + ") on the bridge " + HostNetwork.BRIDGE + "; embedded Kafka broker");
        setup.put("guests", "kit test kernel + initramfs, 1 vCPU, " + MEMORY_MIB + " MiB, a tenant network " + CIDR
                + " (VXLAN), fixed IPs, a security group opening TCP " + TCP_PORT + "; busybox nc, the sender's"
                + " dd from /dev/zero in " + (BLOCK >> 10) + " KiB blocks, " + rounds + " rounds, timed in the guest"
                + " (/proc/uptime, 10 ms)");
        setup.put("stratus", "TCP: the two guests on two hosts: bridge, VXLAN, bridge;"
                + " ports: created with binding:host_id, until the host's agent applied them all (/metrics)");
        setup.put(BASELINE, "TCP: the same two guests on one host, one bridge; ports: the same"
                + " ports created unbound");
        return new BenchReport("tenant-net", setup, measured, notes, BASELINE);
    }

    /**
     * The script both guests run: the receiver and the sender tell themselves apart by their
     * address (the kit's udhcpc set it, and the network's MTU).
     */
    private static Path guestDisk(Path work, int sizeMiB, int rounds) throws Exception {
        int blocks = (int) (((long) sizeMiB << 20) / BLOCK);
        return ScriptDisk.in(work).script(
                "while ! ip -4 addr show eth0 | grep -q inet; do sleep 1; done",
                "if ip -4 addr show eth0 | grep -q 'inet " + RECEIVER_IP + "/'; then",
                "  echo TN-RECEIVER",
                // stdin stays the console: at end of input nc would close its sending half, and the sender with it.
                "  while :; do nc -l -p " + TCP_PORT + " > /dev/null; done",
                "fi",
                "tries=0",
                "until nc -w 2 " + RECEIVER_IP + " " + TCP_PORT + " < /dev/null; do",
                "  tries=$((tries + 1)); [ $tries -lt 120 ] || { echo TN-NO-PEER; exit 1; }; sleep 1",
                "done",
                "echo TN-SENDER",
                "i=1",
                "while [ $i -le " + rounds + " ]; do",
                "  sleep 1",
                "  read t0 _ < /proc/uptime",
                "  if dd if=/dev/zero bs=" + BLOCK + " count=" + blocks + " 2>/dev/null | nc -w 5 " + RECEIVER_IP + " "
                        + TCP_PORT + "; then",
                "    read t1 _ < /proc/uptime",
                "    echo \"TN-ROUND $i $t0 $t1\"",
                "    i=$((i + 1))",
                "  else",
                "    echo \"TN-RETRY $i\"",
                "  fi",
                "done",
                "echo TN-DONE").build(work.resolve("tenant-net.img"));
    }

    /** What both parts share: the images, flavor, network and security group, in the admin's project. */
    private record Tenant(String image, String flavor, String network, String securityGroup) {
        static Tenant setUp(BenchCloud cloud, Path kit, Path work, int sizeMiB, int rounds) throws Exception {
            String project = cloud.call("GET", cloud.url + "/identity/v3/projects?name=admin", null).path("projects")
                    .path(0).path("id").asText();
            cloud.call("PUT", cloud.url + "/network/v2.0/quotas/" + project, body(Map.of("quota", Map.of("port", -1))));
            String kernel = cloud.image("\"name\": \"tn-kernel\", \"disk_format\": \"aki\", \"container_format\":"
                    + " \"aki\"", kit.resolve("test-kernel/vmlinux"));
            String ramdisk = cloud.image("\"name\": \"tn-initramfs\", \"disk_format\": \"ari\", \"container_format\":"
                    + " \"ari\"", kit.resolve("initramfs.cpio"));
            JsonNode network = cloud.call("POST", cloud.url + "/network/v2.0/networks", body(Map.of("network",
                    Map.of("name", "tenant-net-bench")))).path("network");
            Path disk = guestDisk(work, sizeMiB, rounds);
            String image = cloud.image("\"name\": \"tn-guest\", \"disk_format\": \"raw\", \"container_format\": \"bare\","
                    + " \"kernel_id\": \"" + kernel + "\", \"ramdisk_id\": \"" + ramdisk + "\", \"os_command_line\":"
                    + " \"panic=-1 stratus.run=" + ScriptDisk.SCRIPT + "\"", disk);
            cloud.call("POST", cloud.url + "/compute/v2.1/flavors", body(Map.of("flavor", Map.of("name", "tn1", "id",
                    "tn1", "vcpus", 1, "ram", MEMORY_MIB, "disk", 0))));
            cloud.call("POST", cloud.url + "/network/v2.0/subnets", body(Map.of("subnet", Map.of("network_id",
                    network.path("id").asText(),
                    "ip_version", 4, "cidr", CIDR, "name", "tenant-net-bench"))));
            String group = cloud.call("POST", cloud.url + "/network/v2.0/security-groups", body(Map.of(
                    "security_group", Map.of("name", "tenant-net-bench")))).path("security_group").path("id").asText();
            cloud.call("POST", cloud.url + "/network/v2.0/security-group-rules", body(Map.of("security_group_rule",
                    Map.of("security_group_id", group, "direction", "ingress", "ethertype", "IPv4", "protocol", "tcp",
                            "port_range_min", TCP_PORT, "port_range_max", TCP_PORT))));
            return new Tenant(image, "tn1", network.path("id").asText(), "tenant-net-bench");
        }
    }

    /** Boots the pair on the hosts named, times its transfers, deletes it. */
    private static void throughput(BenchCloud cloud, Tenant t, List<String> hosts, String receiverHost,
                                   String senderHost, String column, int sizeMiB, int rounds, Samples samples,
                                   String metric, List<String> notes, String on) throws Exception {
        String servers = cloud.url + "/compute/v2.1/servers";
        String where = receiverHost.equals(senderHost) ? "one host" : "two hosts";
        List<String> pair = new ArrayList<>();
        try {
            for (String ip : List.of(RECEIVER_IP, SENDER_IP)) {
                String host = ip.equals(RECEIVER_IP) ? receiverHost : senderHost;
                onlyEnabled(cloud, hosts, host);
                String id = cloud.call("POST", servers, body(Map.of("server", Map.of("name", "tn-" + ip, "flavorRef",
                        t.flavor(), "imageRef", t.image(), "networks", List.of(Map.of("uuid", t.network(),
                                "fixed_ip", ip)), "security_groups", List.of(Map.of("name", t.securityGroup()))))))
                        .path("server").path("id").asText();
                pair.add(id);
                awaitActive(cloud, id);
                if (!host(cloud, id).equals(host)) {
                    throw new IllegalStateException("server " + id + " went to " + host(cloud, id) + ", not " + host);
                }
            }
            onlyEnabled(cloud, hosts, null);
            long limit = System.nanoTime() + Duration.ofMinutes(2).toNanos()
                    + Duration.ofSeconds(10).toNanos() * (long) sizeMiB * rounds;
            String console = "";
            while (System.nanoTime() < limit) {
                console = console(cloud, pair.get(1));
                if (console.contains("TN-DONE") || console.contains("TN-NO-PEER")
                        || console.contains("STRATUS-GUEST-POWEROFF")) {
                    break;
                }
                Thread.sleep(1000);
            }
            Matcher m = ROUND.matcher(console);
            int found = 0;
            while (m.find()) {
                double seconds = Double.parseDouble(m.group(3)) - Double.parseDouble(m.group(2));
                samples.add(metric, column, seconds > 0 ? sizeMiB / seconds : Double.NaN);
                System.err.printf(Locale.ROOT, "tenant-net: %s%s, round %s: %d MiB in %.2f s%n", where, on, m.group(1),
                        sizeMiB, seconds);
                found++;
            }
            if (found < rounds) {
                throw new IllegalStateException("the sender (" + where + ") finished " + found + " of " + rounds
                        + " rounds; its console ends:\n" + tail(console, 15) + "\nthe receiver's:\n"
                        + tail(console(cloud, pair.get(0)), 8));
            }
            long retries = RETRY.matcher(console).results().count();
            notes.add(where + on + ": receiver on " + receiverHost + ", sender on " + senderHost
                    + (retries > 0 ? "; " + retries + " connection(s) tried again (the receiver was not listening yet)"
                    : ""));
        } finally {
            for (String id : pair) {
                cloud.send("DELETE", servers + "/" + id, null);
            }
            for (String id : pair) {
                awaitGone(cloud, id);
            }
        }
    }

    /** Disables every host's compute service but {@code host}'s (all enabled: null). */
    private static void onlyEnabled(BenchCloud cloud, List<String> hosts, String host) throws Exception {
        for (String h : hosts) {
            cloud.call("PUT", cloud.url + "/compute/v2.1/os-services/" + (host == null || h.equals(host) ? "enable"
                    : "disable"), body(Map.of("host", h, "binary", "nova-compute")));
        }
    }

    /**
     * Batches of {@code count} ports, bound to {@code host} and unbound in turn (the order swapped
     * every round), each batch deleted before the next.
     */
    private static void portRate(BenchCloud cloud, Tenant t, String host, int count, int rounds, Samples samples,
                                 String created, String applied) throws Exception {
        String metrics = "http://" + cloud.agentAddress(host) + "/metrics";
        for (int r = 0; r < rounds; r++) {
            for (boolean bound : r % 2 == 0 ? List.of(true, false) : List.of(false, true)) {
                // What the host has before: the agent may still be applying the removal of earlier ports.
                double before = boundTo(cloud, host);
                awaitPorts(metrics, before);
                List<String> ids = new ArrayList<>();
                long t0 = System.nanoTime();
                try {
                    for (int i = 0; i < count; i++) {
                        Map<String, Object> port = new LinkedHashMap<>();
                        port.put("network_id", t.network());
                        port.put("name", "tn-port-" + r + "-" + i);
                        if (bound) {
                            port.put("binding:host_id", host);
                        }
                        ids.add(cloud.call("POST", cloud.url + "/network/v2.0/ports", body(Map.of("port", port)))
                                .path("port").path("id").asText());
                    }
                    double answered = (System.nanoTime() - t0) / 1e9;
                    System.err.printf(Locale.ROOT, "tenant-net: %d ports %s, created in %.2f s%n", count,
                            bound ? "bound to " + host : "unbound", answered);
                    String column = bound ? BenchReport.STRATUS : BASELINE;
                    samples.add(created, column, count / answered);
                    if (bound) {
                        awaitPorts(metrics, before + count);
                        double onHost = (System.nanoTime() - t0) / 1e9;
                        samples.add(applied, column, count / onHost);
                        System.err.printf(Locale.ROOT, "tenant-net: ... and on the host after %.2f s%n", onHost);
                    } else {
                        // Nothing to apply anywhere: the API's answer is all there is.
                        samples.add(applied, column, count / answered);
                    }
                } finally {
                    for (String id : ids) {
                        cloud.send("DELETE", cloud.url + "/network/v2.0/ports/" + id, null);
                    }
                }
                if (bound) {
                    awaitPorts(metrics, before);
                }
            }
        }
    }

    /** The ports the Network API has bound to {@code host}, its DHCP port left out (as the agent counts). */
    private static int boundTo(BenchCloud cloud, String host) throws Exception {
        int n = 0;
        for (JsonNode p : cloud.call("GET", cloud.url + "/network/v2.0/ports", null).path("ports")) {
            n += p.path("binding:host_id").asText().equals(host) && !p.path("device_owner").asText()
                    .equals("network:dhcp") ? 1 : 0;
        }
        return n;
    }

    /** The agent's {@code stratus_agent_network_ports} gauge: ports of the last state it applied. */
    private static double portsOn(String metrics) throws Exception {
        HttpResponse<String> r = BenchCloud.HTTP.send(HttpRequest.newBuilder(URI.create(metrics))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        Matcher m = Pattern.compile("(?m)^stratus_agent_network_ports(\\{[^}]*})? (\\S+)$").matcher(r.body());
        if (r.statusCode() != 200 || !m.find()) {
            throw new IllegalStateException(metrics + " answered HTTP " + r.statusCode()
                    + " without stratus_agent_network_ports");
        }
        return Double.parseDouble(m.group(2));
    }

    private static void awaitPorts(String metrics, double expected) throws Exception {
        long deadline = System.nanoTime() + APPLY_LIMIT.toNanos();
        double now = portsOn(metrics);
        while (now != expected) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the agent shows " + now + " ports after " + APPLY_LIMIT
                        + ", not " + expected + " (" + metrics + ")");
            }
            Thread.sleep(10);
            now = portsOn(metrics);
        }
    }

    private static void awaitActive(BenchCloud cloud, String id) throws Exception {
        long deadline = System.nanoTime() + ACTIVE_LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode s = cloud.call("GET", cloud.url + "/compute/v2.1/servers/" + id, null).path("server");
            switch (s.path("status").asText()) {
                case "ACTIVE":
                    return;
                case "ERROR":
                    throw new IllegalStateException("server " + id + " ended in ERROR: " + s.path("fault")
                            .path("message").asText());
                default:
                    Thread.sleep(250);
            }
        }
        throw new IllegalStateException("server " + id + " was not ACTIVE within " + ACTIVE_LIMIT);
    }

    private static void awaitGone(BenchCloud cloud, String id) throws Exception {
        long deadline = System.nanoTime() + ACTIVE_LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            if (cloud.send("GET", cloud.url + "/compute/v2.1/servers/" + id, null).statusCode() == 404) {
                return;
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("server " + id + " was not deleted within " + ACTIVE_LIMIT);
    }

    private static String host(BenchCloud cloud, String id) throws Exception {
        return cloud.call("GET", cloud.url + "/compute/v2.1/servers/" + id, null).path("server")
                .path("OS-EXT-SRV-ATTR:host").asText();
    }

    private static String console(BenchCloud cloud, String id) throws Exception {
        return cloud.call("POST", cloud.url + "/compute/v2.1/servers/" + id + "/action",
                "{\"os-getConsoleOutput\": {}}").path("output").asText();
    }

    private static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", List.of(all).subList(Math.max(0, all.length - lines), all.length));
    }

    private static String body(Object value) throws Exception {
        return JSON.writeValueAsString(value);
    }
}
