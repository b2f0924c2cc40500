package io.stratus.agent.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.proto.v1.FixedIp;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.HostRoute;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.RouterConfig;
import io.stratus.proto.v1.SubnetConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Tenants' routers as Neutron's legacy L3 agent builds them with its Linux bridge interface
 * driver: per router a namespace {@code qrouter-<router>} that forwards, with a leg (a veth pair)
 * on each attached network's bridge ({@code qr-<port>} inside) and on the external network's
 * ({@code qg-<port>}), each with its port's MAC, addresses and the network's MTU; the default
 * route to the external subnet's gateway, the extra routes, and the NAT of {@link RouterNat}.
 * Floating IPs are also on {@code qg-} as /32, so the kernel answers ARP for them (as Neutron
 * does); a new one is announced with a gratuitous ARP, and the connections of a removed one are
 * forgotten, where Debian's {@code arping} (iputils-arping) and {@code conntrack} are installed.
 * Everything is compared with what the namespace has, so an unchanged router is not touched.
 */
final class Routers {
    private static final Logger LOG = Logger.getLogger(Routers.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HostCommands host;
    private final Bridges bridges;
    private final String namespacePrefix;
    private Boolean arping;
    private Boolean conntrack;

    Routers(HostCommands host, Bridges bridges, String namespacePrefix) {
        this.host = host;
        this.bridges = bridges;
        this.namespacePrefix = namespacePrefix;
    }

    /** One leg: its port, the network it is on, and its two ends. */
    private record Leg(PortBinding port, NetworkSegment network, String onBridge, String inside) {
        static Leg of(String legPrefix, PortBinding port, NetworkSegment network) {
            return new Leg(port, network, DeviceNames.routerLegOnBridge(legPrefix, port.getPortId()),
                    DeviceNames.routerLegInside(legPrefix, port.getPortId()));
        }

        /** The port's fixed IPs with their subnets' prefixes. */
        Set<String> addresses() {
            Set<String> out = new LinkedHashSet<>();
            for (FixedIp ip : port.getFixedIpsList()) {
                network.getSubnetsList().stream().filter(s -> s.getSubnetId().equals(ip.getSubnetId())).findFirst()
                        .ifPresent(s -> out.add(Addresses.of(ip.getIpAddress(), Cidr.parse(s.getCidr()).orElseThrow()
                                .prefix())));
            }
            return out;
        }
    }

    /**
     * Makes {@code router} (checked by {@link ValidRouters}) what the kernel has.
     *
     * @param state the state it came in, for its networks
     */
    void ensure(RouterConfig router, HostNetworkState state) {
        Map<String, NetworkSegment> networks = state.getNetworksList().stream()
                .collect(Collectors.toMap(NetworkSegment::getNetworkId, Function.identity()));
        String ns = DeviceNames.routerNamespace(namespacePrefix, router.getRouterId());
        if (!host.namespaces().contains(ns)) {
            host.run("ip", "netns", "add", ns);
        }
        Links nsLinks = links(ns);
        if (nsLinks.get("lo").map(l -> !l.up()).orElse(true)) {
            host.run("ip", "-n", ns, "link", "set", "lo", "up");
        }
        forwarding(ns);
        List<Leg> legs = new ArrayList<>();
        router.getInterfacesList().forEach(p -> legs.add(Leg.of(DeviceNames.ROUTER_INTERFACE, p,
                networks.get(p.getNetworkId()))));
        Leg gateway = router.hasGatewayPort() ? Leg.of(DeviceNames.ROUTER_GATEWAY, router.getGatewayPort(),
                networks.get(router.getGatewayPort().getNetworkId())) : null;
        if (gateway != null) {
            legs.add(gateway);
        }
        Set<String> inside = legs.stream().map(Leg::inside).collect(Collectors.toSet());
        for (Links.Link l : nsLinks.all()) {
            if ((l.name().startsWith(DeviceNames.ROUTER_INTERFACE) || l.name().startsWith(DeviceNames.ROUTER_GATEWAY))
                    && !inside.contains(l.name())) {
                // Its peer on the bridge goes with it.
                host.run("ip", "-n", ns, "link", "del", l.name());
            }
        }
        Addresses.Change floating = new Addresses.Change(Set.of(), Set.of());
        for (Leg leg : legs) {
            Set<String> wanted = leg.addresses();
            if (leg == gateway) {
                router.getFloatingIpsList().forEach(f -> wanted.add(Addresses.of(f.getFloatingIpAddress(), 32)));
            }
            Addresses.Change change = leg(ns, leg, router.getAdminStateUp(), wanted);
            if (leg == gateway) {
                floating = change;
            }
        }
        if (router.getAdminStateUp()) {
            routes(ns, router, gateway);
        }
        nat(ns, router, legs.stream().filter(l -> l != gateway).flatMap(l -> l.addresses().stream())
                .map(a -> Cidr.parse(a).orElseThrow()).filter(c -> c.version() == 4).toList());
        if (gateway != null) {
            announce(ns, gateway.inside(), floating.added(), router);
            forget(ns, floating.removed());
        }
    }

    /** Removes the namespace (and with it the legs, whose bridge ends are their peers) of every router not in {@code keep}. */
    void removeExcept(Set<String> keep) {
        String prefix = DeviceNames.routerNamespace(namespacePrefix, "");
        for (String ns : host.namespaces()) {
            if (ns.startsWith(prefix) && !keep.contains(ns.substring(prefix.length()))) {
                LOG.infof("router %s: removed (not in the network state)", ns.substring(prefix.length()));
                host.attempt("ip", "netns", "del", ns);
            }
        }
    }

    private void forwarding(String ns) {
        if (!inside(ns, "sysctl", "-n", "net.ipv4.ip_forward").equals("1")) {
            inside(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        }
        // A kernel booted without IPv6 has no such key: its routers forward IPv4 only.
        var v6 = host.attempt("ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv6.conf.all.forwarding");
        if (v6.ok() && !v6.output().trim().equals("1")) {
            inside(ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
        }
    }

    /** The leg's veth pair, its ends' MAC, MTU and state, on its bridge, with {@code wanted} addresses inside. */
    private Addresses.Change leg(String ns, Leg leg, boolean up, Set<String> wanted) {
        String mac = leg.port().getMac();
        Links nsLinks = links(ns);
        if (nsLinks.get(leg.inside()).isEmpty()) {
            host.attempt("ip", "link", "del", leg.onBridge());
            // The bridge's end gets the port's MAC with fe first (as a guest's TAP): the bridge takes
            // its ports' lowest MAC as its own, and that must be no port's.
            host.run("ip", "link", "add", leg.onBridge(), "address", "fe" + mac.substring(2), "type", "veth", "peer",
                    "name", leg.inside(), "address", mac, "netns", ns);
            nsLinks = links(ns);
        }
        int mtu = leg.network().getMtu();
        bridges.attach(Links.read(host), leg.onBridge(), DeviceNames.bridge(leg.network().getNetworkId()), mtu);
        Links.Link in = nsLinks.get(leg.inside()).orElseThrow();
        if (!in.mac().equals(mac)) {
            host.run("ip", "-n", ns, "link", "set", leg.inside(), "address", mac);
        }
        if (mtu > 0 && in.mtu() != mtu) {
            host.run("ip", "-n", ns, "link", "set", leg.inside(), "mtu", String.valueOf(mtu));
        }
        if (in.up() != up) {
            host.run("ip", "-n", ns, "link", "set", leg.inside(), up ? "up" : "down");
        }
        return Addresses.sync(host, ns, leg.inside(), wanted);
    }

    /** A route the agent made ({@code proto static}): destination in {@link Cidr} form and next hop. */
    private record Route(String destination, String nexthop) {
        static Route of(String destination, String nexthop) {
            return new Route(Cidr.parse(destination).orElseThrow().toString(),
                    Cidr.address(nexthop).orElseThrow().getHostAddress());
        }
    }

    /** The default route of each IP version to its external subnet's gateway, and the extra routes; no other. */
    private void routes(String ns, RouterConfig router, Leg gateway) {
        Set<Route> wanted = new LinkedHashSet<>();
        if (gateway != null) {
            Set<Integer> versions = new HashSet<>();
            for (FixedIp ip : gateway.port().getFixedIpsList()) {
                for (SubnetConfig s : gateway.network().getSubnetsList()) {
                    if (s.getSubnetId().equals(ip.getSubnetId()) && !s.getGatewayIp().isEmpty()
                            && versions.add(s.getIpVersion())) {
                        wanted.add(Route.of(s.getIpVersion() == 4 ? "0.0.0.0/0" : "::/0", s.getGatewayIp()));
                    }
                }
            }
        }
        for (HostRoute r : router.getRoutesList()) {
            wanted.add(Route.of(r.getDestination(), r.getNexthop()));
        }
        Set<Route> have = new LinkedHashSet<>();
        for (String family : List.of("-4", "-6")) {
            try {
                for (JsonNode r : JSON.readTree(host.run("ip", "-n", ns, family, "-j", "route", "show", "proto",
                        "static"))) {
                    String dst = r.path("dst").asText();
                    String to = dst.equals("default") ? family.equals("-4") ? "0.0.0.0/0" : "::/0" : dst;
                    if (r.has("gateway")) {
                        have.add(Route.of(to, r.path("gateway").asText()));
                    }
                }
            } catch (IOException e) {
                throw new NetworkException("ip -j route show printed what is not JSON", e);
            }
        }
        for (Route r : have) {
            if (!wanted.contains(r)) {
                host.attempt("ip", "-n", ns, "route", "del", r.destination(), "via", r.nexthop(), "proto", "static");
            }
        }
        List<String> failed = new ArrayList<>();
        for (Route r : wanted) {
            if (!have.contains(r)) {
                var o = host.attempt("ip", "-n", ns, "route", "replace", r.destination(), "via", r.nexthop(), "proto",
                        "static");
                if (!o.ok()) {
                    failed.add(r.destination() + " via " + r.nexthop() + " (" + o.output() + ")");
                }
            }
        }
        if (!failed.isEmpty()) {
            // The rest of the router is built: only these routes are missing.
            throw new NetworkException("routes not made: " + String.join(", ", failed));
        }
    }

    private void nat(String ns, RouterConfig router, List<Cidr> tenantSubnets) {
        String script = RouterNat.render(router, tenantSubnets);
        HostCommands.Outcome current = host.attempt("ip", "netns", "exec", ns, "nft", "list", "table", "ip",
                RouterNat.TABLE);
        if (!current.ok() || !RouterNat.digestOf(current.output()).equals(RouterNat.digestOf(script))) {
            host.runWithInput(script, "ip", "netns", "exec", ns, "nft", "-f", "-");
        }
    }

    /** A gratuitous ARP for each floating IP just added, so that the outside forgets where it was before. */
    private void announce(String ns, String device, Set<String> added, RouterConfig router) {
        if (added.isEmpty() || !router.getAdminStateUp()) {
            return;
        }
        if (arping == null) {
            arping = host.attempt("arping", "-V").output().contains("iputils");
            if (!arping) {
                LOG.info("no gratuitous ARP for new floating IPs: arping (Debian's iputils-arping) is not installed");
            }
        }
        if (arping) {
            for (String a : added) {
                if (a.endsWith("/32")) {
                    host.attempt("ip", "netns", "exec", ns, "arping", "-U", "-c", "1", "-I", device, a.split("/")[0]);
                }
            }
        }
    }

    /** Drops the tracked connections of floating IPs just removed, so that none goes on through the old mapping. */
    private void forget(String ns, Set<String> removed) {
        if (removed.isEmpty()) {
            return;
        }
        if (conntrack == null) {
            conntrack = host.attempt("conntrack", "--version").ok();
            if (!conntrack) {
                LOG.info("connections of removed floating IPs are not flushed: conntrack (Debian's conntrack) is not"
                        + " installed");
            }
        }
        if (conntrack) {
            for (String a : removed) {
                if (a.endsWith("/32")) {
                    String address = a.split("/")[0];
                    // Inbound through the DNAT (sent to it) and outbound through the SNAT (answered to it).
                    host.attempt("ip", "netns", "exec", ns, "conntrack", "-D", "-d", address);
                    host.attempt("ip", "netns", "exec", ns, "conntrack", "-D", "-q", address);
                }
            }
        }
    }

    private Links links(String ns) {
        return Links.parse(host.run("ip", "-n", ns, "-d", "-j", "link", "show"));
    }

    private String inside(String ns, String... command) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(List.of(command));
        return host.run(all.toArray(String[]::new)).trim();
    }
}
