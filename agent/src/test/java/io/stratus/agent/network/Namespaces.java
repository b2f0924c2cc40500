package io.stratus.agent.network;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * Network namespaces a test makes (simulated hosts and guests) and removes again, even after a
 * failure. Nothing here touches the root namespace's interfaces.
 */
final class Namespaces implements AutoCloseable {
    /**
     * The lock of test classes that make namespaces, veths and bridges on this machine: their names
     * (and the root namespace's tools) overlap, so such classes run one at a time.
     */
    static final String HOST_NETWORK = "host network";

    private final HostCommands root = HostCommands.local();
    private final List<String> made = new ArrayList<>();

    /** Skips the calling test, saying why, where namespaces and the data plane's tools are not at hand. */
    static void assumeUsable() {
        var missing = DataPlaneTools.missing(HostCommands.local());
        Assumptions.assumeTrue(missing.isEmpty(), () -> "skipped: " + missing.orElseThrow());
        Assumptions.assumeTrue(HostCommands.local().attempt("busybox", "--help").ok(),
                "skipped: busybox (udhcpc, nc, ping) is not installed (apt-get install busybox)");
    }

    /** A fresh namespace {@code name} with its loopback up. */
    String create(String name) {
        root.attempt("ip", "netns", "del", name);
        root.run("ip", "netns", "add", name);
        made.add(name);
        root.run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    /**
     * A guest: namespace {@code guest} whose {@code eth0} (MAC {@code mac}) is a veth pair with
     * {@code tap} in {@code host}, not attached anywhere (the data plane does that, or not).
     */
    String guest(String guest, String host, String tap, String mac) {
        create(guest);
        root.run("ip", "-n", host, "link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", guest);
        root.run("ip", "-n", guest, "link", "set", "eth0", "address", mac);
        root.run("ip", "-n", guest, "link", "set", "eth0", "up");
        return guest;
    }

    /** Runs {@code command} in namespace {@code ns}. */
    HostCommands.Outcome in(String ns, String... command) {
        return HostCommands.inNamespace(ns).attempt(command);
    }

    void remove(String name) {
        root.attempt("ip", "netns", "del", name);
        made.remove(name);
    }

    /** Every namespace whose name starts with {@code prefix} (the DHCP namespaces of a simulated host). */
    List<String> named(String prefix) {
        return root.run("ip", "netns", "list").lines().map(l -> l.split(" ")[0]).filter(n -> n.startsWith(prefix))
                .toList();
    }

    @Override
    public void close() {
        for (String ns : List.copyOf(made)) {
            remove(ns);
        }
    }
}
