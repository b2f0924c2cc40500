package io.stratus.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Network namespaces that make one machine look like several hosts: a bridge in the root
 * namespace ({@value #BRIDGE}, {@value #GATEWAY}/24) and, per simulated host, a namespace whose
 * {@code eth0} is plugged into it with an address of its own. Services in the root namespace that
 * listen on all addresses are reached from every namespace at {@value #GATEWAY}; the namespaces
 * reach each other directly over the bridge. The subnet exists only on this bridge.
 *
 * <p>Needs root (CAP_NET_ADMIN) and the {@code ip} command (iproute2).
 */
public final class HostNetwork {
    /** The bridge the namespaces hang on. */
    public static final String BRIDGE = "stratus-br0";
    /** The root namespace's address on the bridge. */
    public static final String GATEWAY = "10.213.0.1";
    private static final String PREFIX = "10.213.0.";

    private HostNetwork() {
    }

    /** One simulated host's namespace. */
    public record Namespace(String name, String address) implements AutoCloseable {
        /**
         * The command line that runs {@code command} inside this namespace. Through nsenter, which
         * enters the network namespace only: {@code ip netns exec} would also give the command a
         * mount namespace of its own, where the namespaces an agent makes for its DHCP servers
         * ({@code ip netns add}) would be mounted unseen by anyone else, and gone with the agent.
         */
        public List<String> wrap(List<String> command) {
            List<String> all = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + name, "--"));
            all.addAll(command);
            return all;
        }

        /** Removes the namespace (its end of the veth pair goes with it). */
        @Override
        public void close() {
            try {
                ip(true, "netns", "del", name);
            } catch (IOException e) {
                // Already gone: nothing to remove.
            }
        }
    }

    /** Whether namespaces can be made here (root with iproute2). */
    public static boolean available() {
        try {
            return new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start().waitFor() == 0
                    && "root".equals(System.getProperty("user.name"));
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Makes (or makes again, fresh) the namespace of simulated host number {@code index} (1–200),
     * named {@code stratus-<index>}, with address {@code 10.213.0.<10 + index>}.
     *
     * @throws IOException an {@code ip} command failed; its output is in the message
     */
    public static Namespace create(int index) throws IOException {
        if (index < 1 || index > 200) {
            throw new IllegalArgumentException("host namespaces are numbered 1..200, not " + index);
        }
        bridge();
        String ns = "stratus-" + index;
        String veth = "stratus-v" + index;
        String address = PREFIX + (10 + index);
        ip(true, "netns", "del", ns);
        ip(true, "link", "del", veth);
        ip(false, "netns", "add", ns);
        ip(false, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
        ip(false, "link", "set", veth, "master", BRIDGE, "up");
        ip(false, "-n", ns, "addr", "add", address + "/24", "dev", "eth0");
        ip(false, "-n", ns, "link", "set", "eth0", "up");
        ip(false, "-n", ns, "link", "set", "lo", "up");
        ip(false, "-n", ns, "route", "add", "default", "via", GATEWAY);
        return new Namespace(ns, address);
    }

    /**
     * Makes the bridge and the root namespace's address on it, if not there yet: services that
     * name {@value #GATEWAY} to the namespaces need it before the first namespace exists.
     */
    public static void bridge() throws IOException {
        ensureBridge(BRIDGE, GATEWAY + "/24");
    }

    /**
     * Makes bridge {@code name} holding {@code addressCidr}, up, unless it exists. Clouds that start
     * at the same time (test suites in parallel) may race to make it: the loser finds it made.
     */
    private static void ensureBridge(String name, String addressCidr) throws IOException {
        if (ip(true, "link", "show", name)) {
            return;
        }
        if (!ip(true, "link", "add", name, "type", "bridge") && !ip(true, "link", "show", name)) {
            ip(false, "link", "add", name, "type", "bridge");
        }
        ip(true, "addr", "add", addressCidr, "dev", name);
        ip(false, "link", "set", name, "up");
    }

    /**
     * An "outside" for the simulated hosts: a bridge in the root namespace holding {@code gatewayCidr}
     * (the machine's address on it, and the external subnet's gateway), to which each host's
     * namespace gets a leg named {@value #EXTERNAL_INTERFACE} that its agent maps to a flat network
     * (Neutron's physical_interface_mappings). Routers' gateways and floating IPs live on it; the
     * machine reaches them directly, and nothing on it is routed beyond the machine (the range is
     * one the machine's real networks do not use).
     *
     * @param bridge      the bridge's name in the root namespace
     * @param gatewayCidr the machine's address on it with the prefix length, e.g. {@code 198.18.0.1/24}
     */
    public record ExternalNetwork(String bridge, String gatewayCidr) {
        /** The interface each host namespace has on the external bridge. */
        public static final String EXTERNAL_INTERFACE = "ext0";

        /** The machine's address on the bridge: the external subnet's gateway. */
        public String gateway() {
            return gatewayCidr.substring(0, gatewayCidr.indexOf('/'));
        }

        /** The subnet, e.g. {@code 198.18.0.0/24} (the prefix must be a whole octet: 8, 16 or 24). */
        public String cidr() {
            int prefix = Integer.parseInt(gatewayCidr.substring(gatewayCidr.indexOf('/') + 1));
            String[] octets = gateway().split("\\.");
            StringBuilder net = new StringBuilder();
            for (int i = 0; i < 4; i++) {
                net.append(i > 0 ? "." : "").append(i < prefix / 8 ? octets[i] : "0");
            }
            return net + "/" + prefix;
        }

        /** Makes the bridge with the machine's address on it, if not there yet. */
        public void ensure() throws IOException {
            ensureBridge(bridge, gatewayCidr);
        }

        /**
         * Gives host namespace {@code ns} (number {@code index}) its leg on the bridge: the veth
         * {@code stratus-x<index>} here, {@value #EXTERNAL_INTERFACE} there, both up and without
         * addresses (the agent's flat-network bridge takes the namespace's end). The namespace's
         * removal removes both ends.
         */
        public void plug(Namespace ns, int index) throws IOException {
            ensure();
            String veth = "stratus-x" + index;
            ip(true, "link", "del", veth);
            ip(false, "link", "add", veth, "type", "veth", "peer", "name", EXTERNAL_INTERFACE, "netns", ns.name());
            ip(false, "link", "set", veth, "master", bridge, "up");
            ip(false, "-n", ns.name(), "link", "set", EXTERNAL_INTERFACE, "up");
        }
    }

    /**
     * Removes the namespaces that the agent of simulated host {@code host} made — its DHCP servers'
     * ({@code <host>-qdhcp-<network>}) and its routers' ({@code <host>-qrouter-<router>}) — and ends
     * the processes in them: they outlive the agent, as they would on a real host.
     */
    public static void removeAgentNamespaces(String host) throws IOException {
        removeNamespaces(host + "-qdhcp-");
        removeNamespaces(host + "-qrouter-");
    }

    /** Removes the named network namespaces whose names start with {@code prefix}, and their processes. */
    public static void removeNamespaces(String prefix) throws IOException {
        for (String line : output("ip", "netns", "list").split("\n")) {
            String name = line.split(" ")[0];
            if (name.isEmpty() || !name.startsWith(prefix)) {
                continue;
            }
            for (String pid : output("ip", "netns", "pids", name).split("\\s+")) {
                if (pid.matches("\\d+")) {
                    ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
            ip(true, "netns", "del", name);
        }
    }

    private static String output(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + String.join(" ", cmd), e);
        }
    }

    /** Runs {@code ip args}; a failure throws unless {@code mayFail}, which returns false instead. */
    private static boolean ip(boolean mayFail, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish in 30 s");
            }
            if (p.exitValue() != 0 && !mayFail) {
                throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + out);
            }
            return p.exitValue() == 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + String.join(" ", cmd), e);
        }
    }
}
