package io.stratus.agent.network;

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
 * SIGHUP, so the directory must be readable by it (hence not under root's home). With a metadata
 * socket, the namespace also holds the network's metadata proxy ({@link MetadataProxies}), as
 * Neutron's isolated metadata: 169.254.169.254 on the DHCP port, and a route to it in the leases.
 */
final class DhcpServers {
    private final HostCommands host;
    private final Path dir;
    private final String namespacePrefix;
    private final Optional<MetadataProxies> proxies;

    DhcpServers(HostCommands host, Path dir, String namespacePrefix, Optional<Path> metadataSocket) {
        this.host = host;
        this.dir = dir;
        this.namespacePrefix = namespacePrefix;
        this.proxies = metadataSocket.map(socket -> new MetadataProxies(host, socket));
    }

    /** The network's server, serving {@code ports} (the ports bound to this host on it). */
    void ensure(Links links, Bridges bridges, NetworkSegment network, List<PortBinding> ports) {
        PortBinding port = network.getDhcpPort();
        String ns = DeviceNames.dhcpNamespace(namespacePrefix, network.getNetworkId());
        String inside = DeviceNames.dhcpInside(port.getPortId());
        if (!host.namespaces().contains(ns)) {
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
        DnsmasqFiles files = DnsmasqFiles.of(network, ports, d, proxies.isPresent());
        dnsmasq(ns, d, files);
        if (proxies.isPresent()) {
            proxies.get().ensure(ns, d, network.getNetworkId());
        } else {
            MetadataProxies.stop(d);
        }
    }

    /**
     * The port's address in each subnet it serves and the metadata address when there is a proxy,
     * and no other (link-local ones are the kernel's).
     */
    private void addresses(String ns, String device, NetworkSegment network) {
        Set<String> wanted = new HashSet<>();
        for (SubnetConfig s : DnsmasqFiles.served(network)) {
            DnsmasqFiles.addressIn(network.getDhcpPort(), s.getSubnetId()).ifPresent(a -> wanted.add(
                    Addresses.of(a, Cidr.parse(s.getCidr()).orElseThrow().prefix())));
        }
        if (proxies.isPresent()) {
            wanted.add(MetadataProxies.ADDRESS + "/32");
        }
        Addresses.sync(host, ns, device, wanted);
    }

    /** Starts dnsmasq, restarts it when its configuration changed, or has it reread hosts and options. */
    private void dnsmasq(String ns, Path d, DnsmasqFiles files) {
        try {
            Files.createDirectories(d);
            boolean restart = Daemons.write(d.resolve(DnsmasqFiles.CONFIG), files.config());
            boolean reread = Daemons.write(d.resolve(DnsmasqFiles.HOSTS), files.hosts());
            reread |= Daemons.write(d.resolve(DnsmasqFiles.OPTIONS), files.options());
            Optional<ProcessHandle> running = running(d);
            if (running.isPresent() && restart) {
                Daemons.stop(running.get());
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
        for (String ns : host.namespaces()) {
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
        running(d).ifPresent(Daemons::stop);
        MetadataProxies.stop(d);
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

    /** The dnsmasq whose pid file is in {@code d}, if it still runs. */
    private static Optional<ProcessHandle> running(Path d) {
        return Daemons.running(d.resolve(DnsmasqFiles.PID), d.resolve(DnsmasqFiles.CONFIG));
    }
}
