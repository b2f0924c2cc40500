package io.stratus.agent.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.SubnetConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * One DHCP server per network, as Neutron's DHCP agent runs it: a namespace
 * {@code qdhcp-<network>} holding the DHCP port's end of a veth pair (the other end, the port's
 * TAP, is on the network's bridge) with the port's MAC and addresses, and dnsmasq in it. Files live
 * in {@code <dir>/<network>/}; dnsmasq runs as its own unprivileged user and reads them again on
 * SIGHUP, so the directory must be readable by it (hence not under root's home).
 */
final class DhcpServers {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HostCommands host;
    private final Path dir;
    private final String namespacePrefix;

    DhcpServers(HostCommands host, Path dir, String namespacePrefix) {
        this.host = host;
        this.dir = dir;
        this.namespacePrefix = namespacePrefix;
    }

    /** The network's server, serving {@code ports} (the ports bound to this host on it). */
    void ensure(Links links, Bridges bridges, NetworkSegment network, List<PortBinding> ports) {
        PortBinding port = network.getDhcpPort();
        String ns = DeviceNames.dhcpNamespace(namespacePrefix, network.getNetworkId());
        String inside = DeviceNames.dhcpInside(port.getPortId());
        if (!namespaces().contains(ns)) {
            host.run("ip", "netns", "add", ns);
            host.run("ip", "-n", ns, "link", "set", "lo", "up");
        }
        Links nsLinks = Links.parse(host.run("ip", "-n", ns, "-d", "-j", "link", "show"));
        if (nsLinks.get(inside).isEmpty()) {
            host.attempt("ip", "link", "del", port.getTap());
            host.run("ip", "link", "add", port.getTap(), "type", "veth", "peer", "name", inside, "netns", ns);
            links = Links.read(host);
            nsLinks = Links.parse(host.run("ip", "-n", ns, "-d", "-j", "link", "show"));
        }
        bridges.attach(links, port.getTap(), DeviceNames.bridge(network.getNetworkId()), network.getMtu());
        Links.Link in = nsLinks.get(inside).orElseThrow();
        if (!in.mac().equals(port.getMac())) {
            host.run("ip", "-n", ns, "link", "set", inside, "address", port.getMac());
        }
        if (network.getMtu() > 0 && in.mtu() != network.getMtu()) {
            host.run("ip", "-n", ns, "link", "set", inside, "mtu", String.valueOf(network.getMtu()));
        }
        if (!in.up()) {
            host.run("ip", "-n", ns, "link", "set", inside, "up");
        }
        addresses(ns, inside, network);
        Path d = dir.resolve(network.getNetworkId());
        DnsmasqFiles files = DnsmasqFiles.of(network, ports, d);
        dnsmasq(ns, d, files);
    }

    /** The port's address in each subnet it serves, and no other (link-local ones are the kernel's). */
    private void addresses(String ns, String device, NetworkSegment network) {
        Set<String> wanted = new HashSet<>();
        for (SubnetConfig s : DnsmasqFiles.served(network)) {
            DnsmasqFiles.addressIn(network.getDhcpPort(), s.getSubnetId()).ifPresent(a -> wanted.add(
                    Cidr.address(a).orElseThrow().getHostAddress() + "/" + Cidr.parse(s.getCidr()).orElseThrow().prefix()));
        }
        Set<String> have = new HashSet<>();
        try {
            for (JsonNode i : JSON.readTree(host.run("ip", "-n", ns, "-j", "addr", "show", "dev", device))) {
                for (JsonNode a : i.path("addr_info")) {
                    if (!a.path("scope").asText().equals("link")) {
                        have.add(Cidr.address(a.path("local").asText()).map(x -> x.getHostAddress()).orElse("?")
                                + "/" + a.path("prefixlen").asInt());
                    }
                }
            }
        } catch (IOException e) {
            throw new NetworkException("ip -j addr show printed what is not JSON", e);
        }
        for (String a : have) {
            if (!wanted.contains(a)) {
                host.attempt("ip", "-n", ns, "addr", "del", a, "dev", device);
            }
        }
        for (String a : wanted) {
            if (!have.contains(a)) {
                // nodad: dnsmasq binds at once; duplicate detection would hold an IPv6 address back.
                host.run("ip", "-n", ns, "addr", "add", a, "dev", device, "nodad");
            }
        }
    }

    /** Starts dnsmasq, restarts it when its configuration changed, or has it reread hosts and options. */
    private void dnsmasq(String ns, Path d, DnsmasqFiles files) {
        try {
            Files.createDirectories(d);
            boolean restart = write(d.resolve(DnsmasqFiles.CONFIG), files.config());
            boolean reread = write(d.resolve(DnsmasqFiles.HOSTS), files.hosts());
            reread |= write(d.resolve(DnsmasqFiles.OPTIONS), files.options());
            Optional<ProcessHandle> running = running(d);
            if (running.isPresent() && restart) {
                stop(running.get());
                running = Optional.empty();
            }
            if (running.isEmpty()) {
                host.runDaemon(d.resolve("dnsmasq.log"), "ip", "netns", "exec", ns, "dnsmasq",
                        "--conf-file=" + d.resolve(DnsmasqFiles.CONFIG));
            } else if (reread) {
                host.run("kill", "-HUP", String.valueOf(running.get().pid()));
            }
        } catch (IOException e) {
            throw new NetworkException("DHCP files in " + d + ": " + e.getMessage(), e);
        }
    }

    /** Removes every DHCP server (namespace, dnsmasq, files) of a network not in {@code keep}. */
    void removeExcept(Set<String> keep) {
        String prefix = DeviceNames.dhcpNamespace(namespacePrefix, "");
        for (String ns : namespaces()) {
            if (ns.startsWith(prefix) && !keep.contains(ns.substring(prefix.length()))) {
                remove(ns.substring(prefix.length()));
            }
        }
        if (Files.isDirectory(dir)) {
            try (Stream<Path> dirs = Files.list(dir)) {
                dirs.map(p -> p.getFileName().toString()).filter(n -> !keep.contains(n)).toList().forEach(this::remove);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private void remove(String networkId) {
        Path d = dir.resolve(networkId);
        running(d).ifPresent(DhcpServers::stop);
        // The veth pair goes with the namespace, its TAP with it.
        host.attempt("ip", "netns", "del", DeviceNames.dhcpNamespace(namespacePrefix, networkId));
        if (Files.exists(d)) {
            try (Stream<Path> files = Files.walk(d)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            } catch (IOException e) {
                throw new NetworkException("cannot remove " + d + ": " + e.getMessage(), e);
            }
        }
    }

    /** The dnsmasq whose pid file is in {@code d}, if it still runs (a reused pid is another program). */
    private static Optional<ProcessHandle> running(Path d) {
        try {
            Path pidFile = d.resolve(DnsmasqFiles.PID);
            if (!Files.exists(pidFile)) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            Path cmdline = Path.of("/proc", String.valueOf(pid), "cmdline");
            if (!Files.exists(cmdline)) {
                return Optional.empty();
            }
            String args = new String(Files.readAllBytes(cmdline), StandardCharsets.UTF_8);
            return args.contains(d.resolve(DnsmasqFiles.CONFIG).toString()) ? ProcessHandle.of(pid) : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static void stop(ProcessHandle dnsmasq) {
        dnsmasq.destroy();
        try {
            dnsmasq.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            dnsmasq.destroyForcibly();
        }
    }

    private List<String> namespaces() {
        // "name (id: 3)" per line.
        return host.run("ip", "netns", "list").lines().map(l -> l.split(" ")[0]).filter(s -> !s.isEmpty()).toList();
    }

    /** Writes {@code text} to {@code file} (readable by dnsmasq) if it differs; whether it did. */
    private static boolean write(Path file, String text) throws IOException {
        if (Files.exists(file) && Files.readString(file).equals(text)) {
            return false;
        }
        Files.writeString(file, text);
        return true;
    }
}
