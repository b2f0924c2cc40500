package io.stratus.agent.network;

import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.NetworkSegment;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.RemoteEndpoint;
import io.stratus.proto.v1.RouterConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.jboss.logging.Logger;

/**
 * Makes the host's data plane what a {@code HostNetworkState} says, level-triggered: it compares
 * with what the kernel has and changes only the difference, so applying the same state again
 * changes nothing and a running guest's traffic goes on. Order matters: the packet filters first
 * (a new port's rules exist before its devices carry anything), then each network's bridge, tunnel
 * and DHCP server, then the routers on those bridges (on an L3 agent host), then what the state no
 * longer lists. A network or router that fails does not stop the others; the failures are
 * reported together at the end.
 */
public final class NetworkReconciler {
    private static final Logger LOG = Logger.getLogger(NetworkReconciler.class);
    private static final int MAX_ZONE = 0xffff;

    private final HostCommands host;
    private final NetworkSettings settings;
    private final Bridges bridges;
    private final DhcpServers dhcp;
    private final Routers routers;
    private boolean routersIgnoredSaid;
    private final ReentrantLock lock = new ReentrantLock();
    /** Conntrack zone per network, kept while the network is: a changed zone would lose its connections. */
    private final Map<String, Integer> zones = new HashMap<>();
    private final AtomicLong reconciles = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile HostNetworkState applied = HostNetworkState.getDefaultInstance();
    private String ruleset = PacketFilters.render(HostNetworkState.getDefaultInstance(), Map.of());

    public NetworkReconciler(HostCommands host, NetworkSettings settings) {
        this.host = host;
        this.settings = settings;
        this.bridges = new Bridges(host);
        this.dhcp = new DhcpServers(host, settings.dhcpDir(), settings.namespacePrefix(), settings.metadataSocket());
        this.routers = new Routers(host, bridges, settings.namespacePrefix());
    }

    /**
     * Makes the host's networks, DHCP servers and filters {@code state}'s.
     *
     * @throws NetworkException what could not be done (everything else was)
     */
    public void apply(HostNetworkState state) {
        lock.lock();
        try {
            reconciles.incrementAndGet();
            // What is malformed is left out and logged; the rest is applied.
            HostNetworkState valid = ValidState.of(state, p -> LOG.warnf("network state %d of %s: %s",
                    state.getGeneration(), state.getHost(), p));
            List<String> problems = new ArrayList<>();
            allocateZones(valid);
            filters(PacketFilters.render(valid, zones));
            Set<String> networks = new HashSet<>();
            for (NetworkSegment n : valid.getNetworksList()) {
                networks.add(n.getNetworkId());
                try {
                    network(n, valid);
                } catch (NetworkException e) {
                    problems.add("network " + n.getNetworkId() + ": " + e.getMessage());
                }
            }
            routers(state, valid, problems);
            removeAllBut(networks, valid.getPortsCount() > 0, problems);
            applied = valid;
            if (!problems.isEmpty()) {
                throw new NetworkException(String.join("; ", problems));
            }
        } catch (RuntimeException e) {
            failures.incrementAndGet();
            throw e instanceof NetworkException n ? n : new NetworkException(e.toString(), e);
        } finally {
            lock.unlock();
        }
    }

    private void network(NetworkSegment n, HostNetworkState state) {
        String bridge = DeviceNames.bridge(n.getNetworkId());
        Links links = Links.read(host);
        bridges.ensureBridge(links, bridge, n.getMtu());
        links = Links.read(host);
        if (n.getType() == NetworkSegment.Type.VXLAN) {
            bridges.ensureVxlan(links, n.getSegmentationId(), settings.tunnelAddress(), bridge, n.getMtu());
            bridges.syncFdb(DeviceNames.vxlan(n.getSegmentationId()), fdb(n));
        } else {
            String device = settings.physicalInterfaces().get(n.getPhysicalNetwork());
            if (device == null || links.get(device).isEmpty()) {
                throw new NetworkException("physical network " + n.getPhysicalNetwork() + " has "
                        + (device == null ? "no interface in stratus.agent.network.physical-interfaces"
                        : "interface " + device + ", which this host does not have"));
            }
            bridges.attach(links, device, bridge, n.getMtu());
        }
        if (n.hasDhcpPort() && !DnsmasqFiles.served(n).isEmpty()) {
            List<PortBinding> ports = state.getPortsList().stream()
                    .filter(p -> p.getNetworkId().equals(n.getNetworkId())).toList();
            dhcp.ensure(Links.read(host), bridges, n, ports);
        }
    }

    /**
     * Builds the routers of {@code valid} (on networks just made) and removes the namespaces of
     * those {@code state} no longer lists. A router {@link ValidRouters} refused is left as it was:
     * still listed, so not removed, but not changed by a state it cannot be built from. A host
     * without the L3 role runs no router at all: one left from when it had the role would answer
     * for addresses the control plane has put on another host's router.
     */
    private void routers(HostNetworkState state, HostNetworkState valid, List<String> problems) {
        Set<String> listed = new HashSet<>();
        if (settings.l3Agent()) {
            state.getRoutersList().forEach(r -> listed.add(r.getRouterId()));
            for (RouterConfig r : valid.getRoutersList()) {
                try {
                    routers.ensure(r, valid);
                } catch (NetworkException e) {
                    problems.add("router " + r.getRouterId() + ": " + e.getMessage());
                }
            }
        } else if (state.getRoutersCount() > 0 && !routersIgnoredSaid) {
            routersIgnoredSaid = true;
            LOG.warnf("network state of %s lists %d routers, but this host is no L3 agent"
                    + " (stratus.agent.network.l3-agent): they are ignored", state.getHost(), state.getRoutersCount());
        }
        try {
            routers.removeExcept(listed);
        } catch (RuntimeException e) {
            problems.add("removing routers: " + e.getMessage());
        }
    }

    /** One flooding entry per remote host, one entry per remote MAC (Neutron's l2population). */
    private Set<Bridges.FdbEntry> fdb(NetworkSegment n) {
        Set<Bridges.FdbEntry> entries = new LinkedHashSet<>();
        Set<String> macs = new HashSet<>();
        for (RemoteEndpoint r : n.getRemoteEndpointsList()) {
            String dst = Cidr.address(r.getTunnelAddress()).orElseThrow().getHostAddress();
            if (dst.equals(settings.tunnelAddress())) {
                continue;
            }
            entries.add(Bridges.FdbEntry.flood(dst));
            r.getMacsList().stream().filter(macs::add).forEach(m -> entries.add(new Bridges.FdbEntry(m, dst)));
        }
        return entries;
    }

    /** Removes DHCP servers, bridges and tunnels of networks not in {@code keep}; the filters too, once nothing is left. */
    private void removeAllBut(Set<String> keep, boolean ports, List<String> problems) {
        try {
            dhcp.removeExcept(keep);
        } catch (RuntimeException e) {
            problems.add("removing DHCP servers: " + e.getMessage());
        }
        Set<String> wanted = new HashSet<>();
        keep.forEach(id -> wanted.add(DeviceNames.bridge(id)));
        Links links = Links.read(host);
        boolean bridgesLeft = false;
        for (Links.Link l : links.all()) {
            if (l.isBridge() && l.name().startsWith(DeviceNames.BRIDGE_PREFIX) && !wanted.contains(l.name())) {
                if (!bridges.release(links, l.name())) {
                    LOG.infof("bridge %s stays: a TAP is on it (a guest whose port this state does not list yet)",
                            l.name());
                    bridgesLeft = true;
                }
            } else if (l.isBridge() && wanted.contains(l.name())) {
                bridgesLeft = true;
            }
        }
        links = Links.read(host);
        for (Links.Link l : links.all()) {
            if (l.kind().equals("vxlan") && l.name().startsWith(DeviceNames.VXLAN_PREFIX) && l.master().isEmpty()) {
                host.attempt("ip", "link", "del", l.name());
            }
        }
        if (!bridgesLeft && !ports && keep.isEmpty()) {
            filters(PacketFilters.removal());
        }
    }

    private void filters(String script) {
        host.runWithInput(script, "nft", "-f", "-");
        ruleset = script;
    }

    /**
     * Runs {@code action} (a TAP being plugged) with the packet filters in place and no reconcile
     * running: a TAP added while the filters are absent would pass everything.
     */
    void withFilters(Runnable action) {
        lock.lock();
        try {
            if (!host.attempt("nft", "list", "table", "bridge", PacketFilters.TABLE).ok()) {
                String script = ruleset.equals(PacketFilters.removal())
                        ? PacketFilters.render(HostNetworkState.getDefaultInstance(), Map.of()) : ruleset;
                filters(script);
            }
            action.run();
        } finally {
            lock.unlock();
        }
    }

    private void allocateZones(HostNetworkState state) {
        Set<String> ids = new HashSet<>();
        state.getNetworksList().forEach(n -> ids.add(n.getNetworkId()));
        zones.keySet().retainAll(ids);
        for (NetworkSegment n : state.getNetworksList()) {
            if (!zones.containsKey(n.getNetworkId())) {
                int zone = 1;
                while (zones.containsValue(zone)) {
                    zone++;
                }
                if (zone > MAX_ZONE) {
                    throw new NetworkException("more than " + MAX_ZONE + " networks on one host");
                }
                zones.put(n.getNetworkId(), zone);
            }
        }
    }

    /** The last state applied (as checked: without what was malformed). */
    public HostNetworkState applied() {
        return applied;
    }

    public long reconciles() {
        return reconciles.get();
    }

    public long failures() {
        return failures.get();
    }
}
