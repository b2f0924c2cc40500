package io.stratus.agent.network;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Whether a host can carry tenant networks: root (CAP_NET_ADMIN), with iproute2, nftables and dnsmasq. */
public final class DataPlaneTools {
    private DataPlaneTools() {
    }

    /** Why not, or empty when it can. */
    public static Optional<String> missing(HostCommands host) {
        if (!"root".equals(System.getProperty("user.name"))) {
            return Optional.of("the agent runs as " + System.getProperty("user.name")
                    + ", not root: bridges, TAPs and packet filters need CAP_NET_ADMIN");
        }
        List<String> missing = new ArrayList<>();
        for (String[] probe : List.of(new String[] {"ip", "-V"}, new String[] {"bridge", "-V"},
                new String[] {"nft", "--version"}, new String[] {"dnsmasq", "--version"})) {
            if (!host.attempt(probe).ok()) {
                missing.add(probe[0]);
            }
        }
        return missing.isEmpty() ? Optional.empty() : Optional.of("missing " + String.join(", ", missing)
                + " (Debian packages iproute2, nftables, dnsmasq-base)");
    }
}
