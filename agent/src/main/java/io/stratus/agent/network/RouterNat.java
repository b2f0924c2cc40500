package io.stratus.agent.network;

import io.stratus.proto.v1.FixedIp;
import io.stratus.proto.v1.FloatingIpMapping;
import io.stratus.proto.v1.RouterConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A router's address translation as one nft script for its namespace, Neutron's legacy L3 agent's
 * iptables rules in nftables: per floating IP a DNAT to the fixed address (prerouting, and output
 * so the router itself reaches it) and a SNAT of what the fixed address sends out by the gateway;
 * then, with SNAT on, everything else from the tenant subnets leaving by the gateway takes the
 * gateway's address, and so does a tenant's connection to a floating IP behind the same router
 * (hairpin: the answer must come back through the router to be translated again). Traffic between
 * the router's own subnets is routed as it is. IPv4 only: Neutron translates no IPv6.
 *
 * <p>The script deletes and re-creates the table in one transaction. The table's comment is a
 * digest of its rules, so that the router's table is replaced only when the rules differ from
 * what the kernel has, and connections through it are left alone otherwise.
 */
final class RouterNat {
    static final String TABLE = "stratus_router";

    private RouterNat() {
    }

    /** A script that leaves no table. */
    static String removal() {
        return "table ip " + TABLE + " {}\ndelete table ip " + TABLE + "\n";
    }

    /**
     * The script for {@code router} (checked by {@link ValidRouters}).
     *
     * @param tenantSubnets the IPv4 subnets of its interfaces
     */
    static String render(RouterConfig router, List<Cidr> tenantSubnets) {
        StringBuilder dnat = new StringBuilder();
        StringBuilder snat = new StringBuilder();
        if (router.hasGatewayPort()) {
            String qg = quote(DeviceNames.routerLegInside(DeviceNames.ROUTER_GATEWAY, router.getGatewayPort().getPortId()));
            for (FloatingIpMapping f : router.getFloatingIpsList()) {
                String floating = text(f.getFloatingIpAddress());
                String fixed = text(f.getFixedIpAddress());
                dnat.append("    ip daddr ").append(floating).append(" dnat to ").append(fixed).append('\n');
                snat.append("    oifname ").append(qg).append(" ip saddr ").append(fixed).append(" snat to ")
                        .append(floating).append('\n');
            }
            Optional<String> gateway = gatewayAddress(router);
            if (router.getEnableSnat() && gateway.isPresent() && !tenantSubnets.isEmpty()) {
                snat.append("    oifname ").append(qg).append(" ip saddr { ")
                        .append(tenantSubnets.stream().map(Cidr::toString).distinct().collect(Collectors.joining(", ")))
                        .append(" } snat to ").append(gateway.get()).append('\n');
                snat.append("    iifname != ").append(qg).append(" ct status dnat snat to ").append(gateway.get())
                        .append('\n');
            }
        }
        String rules = "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n" + dnat
                + "  }\n  chain output {\n    type nat hook output priority -100; policy accept;\n" + dnat
                + "  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n" + snat
                + "  }\n";
        return removal() + "table ip " + TABLE + " {\n  comment \"" + digest(rules) + "\"\n" + rules + "}\n";
    }

    /** The digest a rendered script puts in the table's comment. */
    static String digestOf(String script) {
        int start = script.indexOf("comment \"");
        return start < 0 ? "" : script.substring(start + 9, script.indexOf('"', start + 9));
    }

    /** The router's IPv4 address on its external network: what SNAT gives the tenants' traffic. */
    static Optional<String> gatewayAddress(RouterConfig router) {
        return router.getGatewayPort().getFixedIpsList().stream().map(FixedIp::getIpAddress)
                .map(Cidr::parse).flatMap(Optional::stream).filter(c -> c.version() == 4).map(Cidr::addressText)
                .findFirst();
    }

    private static String text(String address) {
        return Cidr.address(address).orElseThrow().getHostAddress();
    }

    private static String quote(String device) {
        return "\"" + device + "\"";
    }

    private static String digest(String rules) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(rules.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }
}
