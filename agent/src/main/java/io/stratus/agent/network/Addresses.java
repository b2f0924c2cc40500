package io.stratus.agent.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The addresses of one device in a namespace (a DHCP port's end, a router's leg), made exactly a
 * wanted set of {@code address/prefix} texts ({@code 10.0.0.1/24}), changing only the difference.
 * Link-local addresses are the kernel's and left alone.
 */
final class Addresses {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What {@link #sync} changed, in the same {@code address/prefix} form. */
    record Change(Set<String> added, Set<String> removed) {
    }

    private Addresses() {
    }

    /** {@code address/prefix} with the address in Java's canonical text, as {@link #sync} compares them. */
    static String of(String address, int prefix) {
        return Cidr.address(address).orElseThrow(() -> new NetworkException("'" + address + "' is not an address"))
                .getHostAddress() + "/" + prefix;
    }

    static Change sync(HostCommands host, String ns, String device, Set<String> wanted) {
        Set<String> have = new LinkedHashSet<>();
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
        Set<String> removed = new LinkedHashSet<>();
        for (String a : have) {
            if (!wanted.contains(a)) {
                host.attempt("ip", "-n", ns, "addr", "del", a, "dev", device);
                removed.add(a);
            }
        }
        Set<String> added = new LinkedHashSet<>();
        for (String a : wanted) {
            if (!have.contains(a)) {
                // nodad: the address serves at once; duplicate detection would hold an IPv6 one back.
                host.run("ip", "-n", ns, "addr", "add", a, "dev", device, "nodad");
                added.add(a);
            }
        }
        return new Change(added, removed);
    }
}
