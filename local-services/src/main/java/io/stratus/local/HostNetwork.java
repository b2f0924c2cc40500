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
        if (ip(true, "link", "show", BRIDGE)) {
            return;
        }
        ip(false, "link", "add", BRIDGE, "type", "bridge");
        ip(false, "addr", "add", GATEWAY + "/24", "dev", BRIDGE);
        ip(false, "link", "set", BRIDGE, "up");
    }

    /**
     * Removes the DHCP namespaces ({@code <host>-qdhcp-<network>}) that the agent of simulated host
     * {@code host} made, and ends the processes in them: they outlive the agent, as its DHCP servers
     * would on a real host.
     */
    public static void removeDhcpNamespaces(String host) throws IOException {
        removeNamespaces(host + "-qdhcp-");
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
