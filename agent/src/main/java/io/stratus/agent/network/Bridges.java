package io.stratus.agent.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The layer-2 devices of the host's networks: bridges, VXLAN devices with their forwarding entries,
 * and the ports put on bridges. Each method compares with what the kernel has and changes only the
 * difference, so a device carrying guests' traffic is left alone when it is already right.
 */
final class Bridges {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int VXLAN_PORT = 4789;
    private static final String ALL_ZERO = "00:00:00:00:00:00";
    private final HostCommands host;

    Bridges(HostCommands host) {
        this.host = host;
    }

    /**
     * The bridge {@code name}, up, handing IP packets to the IP hooks (where the security groups
     * are). {@code mtu} 0 leaves a new bridge at the kernel's default and an existing one as it is.
     */
    void ensureBridge(Links links, String name, int mtu) {
        var existing = links.get(name);
        if (existing.isPresent() && !existing.get().isBridge()) {
            throw new NetworkException(name + " exists and is not a bridge (" + existing.get().kind() + ")");
        }
        if (existing.isEmpty()) {
            // STP off (the default): a port forwards as soon as it is attached.
            host.run("ip", "link", "add", name, "type", "bridge", "nf_call_iptables", "1", "nf_call_ip6tables", "1");
        } else if (existing.get().info().path("nf_call_iptables").asInt() != 1
                || existing.get().info().path("nf_call_ip6tables").asInt() != 1) {
            host.run("ip", "link", "set", name, "type", "bridge", "nf_call_iptables", "1", "nf_call_ip6tables", "1");
        }
        if (mtu > 0 && existing.map(l -> l.mtu() != mtu).orElse(true)) {
            host.run("ip", "link", "set", name, "mtu", String.valueOf(mtu));
        }
        if (existing.map(l -> !l.up()).orElse(true)) {
            host.run("ip", "link", "set", name, "up");
        }
    }

    /** Puts {@code device} on {@code bridge}, with {@code mtu} (0: as it is), and up. */
    void attach(Links links, String device, String bridge, int mtu) {
        var l = links.get(device);
        if (mtu > 0 && l.map(x -> x.mtu() != mtu).orElse(true)) {
            host.run("ip", "link", "set", device, "mtu", String.valueOf(mtu));
        }
        if (l.map(x -> !x.master().equals(bridge)).orElse(true)) {
            host.run("ip", "link", "set", device, "master", bridge);
        }
        if (l.map(x -> !x.up()).orElse(true)) {
            host.run("ip", "link", "set", device, "up");
        }
    }

    /**
     * The VXLAN device of {@code vni} from {@code local}, without learning (the control plane says
     * where each MAC is), on {@code bridge}. One that differs in id, address or port is made again:
     * VXLAN devices cannot be changed in place.
     */
    void ensureVxlan(Links links, int vni, String local, String bridge, int mtu) {
        String name = DeviceNames.vxlan(vni);
        var existing = links.get(name);
        boolean right = existing.map(l -> l.kind().equals("vxlan") && l.vxlanId() == vni
                && l.vxlanLocal().equals(local) && l.vxlanPort() == VXLAN_PORT
                && !l.info().path("learning").asBoolean(true)).orElse(false);
        if (existing.isPresent() && !right) {
            host.run("ip", "link", "del", name);
        }
        if (!right) {
            host.run("ip", "link", "add", name, "type", "vxlan", "id", String.valueOf(vni), "dstport",
                    String.valueOf(VXLAN_PORT), "local", local, "nolearning");
            links = Links.read(host);
        }
        attach(links, name, bridge, mtu);
    }

    /** One forwarding entry of a VXLAN device: frames for {@code mac} go to the host at {@code dst}. */
    record FdbEntry(String mac, String dst) {
        static FdbEntry flood(String dst) {
            return new FdbEntry(ALL_ZERO, dst);
        }
    }

    /**
     * Makes the VXLAN device's entries exactly {@code wanted}: new ones first (a MAC that moved to
     * another host is replaced in place), then the stale ones go.
     */
    void syncFdb(String vxlan, Set<FdbEntry> wanted) {
        Set<FdbEntry> have = fdb(vxlan);
        for (FdbEntry e : wanted) {
            if (!have.contains(e)) {
                // All-zero entries add up (one per remote host, for broadcast); a MAC has one place.
                host.run("bridge", "fdb", e.mac().equals(ALL_ZERO) ? "append" : "replace", e.mac(), "dev", vxlan,
                        "dst", e.dst());
            }
        }
        for (FdbEntry e : fdb(vxlan)) {
            if (!wanted.contains(e)) {
                host.attempt("bridge", "fdb", "del", e.mac(), "dev", vxlan, "dst", e.dst());
            }
        }
    }

    /** The device's own entries that name a remote host (not the bridge's learned or local ones). */
    Set<FdbEntry> fdb(String vxlan) {
        Set<FdbEntry> entries = new LinkedHashSet<>();
        try {
            for (JsonNode e : JSON.readTree(host.run("bridge", "-j", "fdb", "show", "dev", vxlan))) {
                if (e.has("dst")) {
                    entries.add(new FdbEntry(e.path("mac").asText(), e.path("dst").asText()));
                }
            }
        } catch (IOException e) {
            throw new NetworkException("bridge -j fdb show dev " + vxlan + " printed what is not JSON", e);
        }
        return entries;
    }

    /**
     * Takes {@code bridge} out of service: removes the devices the agent made for it (VXLAN), lets
     * go of the host interfaces it only borrowed (a flat network's), and removes the bridge itself
     * unless a TAP is still on it (a guest the boot path plugged before its port's state came).
     *
     * @return false when a TAP kept the bridge
     */
    boolean release(Links links, String bridge) {
        for (Links.Link l : links.all()) {
            if (l.master().equals(bridge) && !l.name().startsWith(DeviceNames.TAP_PREFIX)) {
                if (l.kind().equals("vxlan")) {
                    host.attempt("ip", "link", "del", l.name());
                } else {
                    host.attempt("ip", "link", "set", l.name(), "nomaster");
                }
            }
        }
        if (links.hasTapOn(bridge)) {
            return false;
        }
        host.attempt("ip", "link", "del", bridge);
        return true;
    }
}
