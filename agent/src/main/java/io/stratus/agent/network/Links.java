package io.stratus.agent.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** The host's network devices as the kernel has them now ({@code ip -d -j link show}). */
final class Links {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Map<String, Link> byName;

    private Links(Map<String, Link> byName) {
        this.byName = byName;
    }

    /** One device: what the reconciler compares with what it wants. */
    record Link(String name, String kind, String master, int mtu, boolean up, String mac, JsonNode info) {
        boolean isBridge() {
            return kind.equals("bridge");
        }

        int vxlanId() {
            return info.path("id").asInt(-1);
        }

        String vxlanLocal() {
            return info.path("local").asText("");
        }

        int vxlanPort() {
            return info.path("port").asInt(-1);
        }
    }

    static Links read(HostCommands host) {
        return parse(host.run("ip", "-d", "-j", "link", "show"));
    }

    static Links parse(String json) {
        Map<String, Link> links = new LinkedHashMap<>();
        try {
            for (JsonNode l : JSON.readTree(json.isBlank() ? "[]" : json)) {
                JsonNode info = l.path("linkinfo");
                boolean up = false;
                for (JsonNode f : l.path("flags")) {
                    up |= f.asText().equals("UP");
                }
                String name = l.path("ifname").asText();
                links.put(name, new Link(name, info.path("info_kind").asText(""), l.path("master").asText(""),
                        l.path("mtu").asInt(), up, l.path("address").asText(""), info.path("info_data")));
            }
        } catch (IOException e) {
            throw new NetworkException("ip -j link show printed what is not JSON: " + e.getMessage(), e);
        }
        return new Links(links);
    }

    Optional<Link> get(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    Iterable<Link> all() {
        return byName.values();
    }

    /** Whether a TAP (a guest's NIC, or a DHCP port's end) is attached to {@code bridge}. */
    boolean hasTapOn(String bridge) {
        return byName.values().stream().anyMatch(l -> l.master().equals(bridge)
                && l.name().startsWith(DeviceNames.TAP_PREFIX));
    }
}
