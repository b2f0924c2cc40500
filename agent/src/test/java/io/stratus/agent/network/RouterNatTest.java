package io.stratus.agent.network;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.FixedIp;
import io.stratus.proto.v1.FloatingIpMapping;
import io.stratus.proto.v1.PortBinding;
import io.stratus.proto.v1.RouterConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouterNatTest {
    private static final PortBinding GATEWAY = PortBinding.newBuilder().setPortId("g0000000-0000-4000")
            .addFixedIps(FixedIp.newBuilder().setIpAddress("2001:db8::10"))
            .addFixedIps(FixedIp.newBuilder().setIpAddress("203.0.113.10")).build();
    private static final List<Cidr> TENANTS = List.of(Cidr.parse("10.0.0.0/24").orElseThrow(),
            Cidr.parse("10.1.0.0/24").orElseThrow());

    private static RouterConfig.Builder router() {
        return RouterConfig.newBuilder().setRouterId("r").setGatewayPort(GATEWAY).setEnableSnat(true)
                .addFloatingIps(FloatingIpMapping.newBuilder().setFloatingIpAddress("203.0.113.20")
                        .setFixedIpAddress("10.0.0.5"));
    }

    @Test
    void aFloatingIpIsTranslatedBothWaysBeforeTheGatewaysSnat() {
        String script = RouterNat.render(router().build(), TENANTS);
        assertThat(script).startsWith(RouterNat.removal());
        String prerouting = script.substring(script.indexOf("chain prerouting"), script.indexOf("chain output"));
        String output = script.substring(script.indexOf("chain output"), script.indexOf("chain postrouting"));
        assertThat(prerouting).contains("ip daddr 203.0.113.20 dnat to 10.0.0.5");
        assertThat(output).contains("ip daddr 203.0.113.20 dnat to 10.0.0.5");
        String postrouting = script.substring(script.indexOf("chain postrouting"));
        int floating = postrouting.indexOf("oifname \"qg-g0000000-00\" ip saddr 10.0.0.5 snat to 203.0.113.20");
        int gateway = postrouting.indexOf("oifname \"qg-g0000000-00\" ip saddr { 10.0.0.0/24, 10.1.0.0/24 } snat to"
                + " 203.0.113.10");
        assertThat(floating).isNotNegative();
        assertThat(gateway).isGreaterThan(floating);
        assertThat(postrouting).contains("iifname != \"qg-g0000000-00\" ct status dnat snat to 203.0.113.10");
    }

    @Test
    void withoutSnatOnlyFloatingIpsAreTranslated() {
        String script = RouterNat.render(router().setEnableSnat(false).build(), TENANTS);
        assertThat(script).contains("snat to 203.0.113.20").doesNotContain("snat to 203.0.113.10");
    }

    @Test
    void aRouterWithoutGatewayTranslatesNothing() {
        String script = RouterNat.render(RouterConfig.newBuilder().setRouterId("r").setEnableSnat(true).build(), TENANTS);
        assertThat(script).doesNotContain(" snat ").doesNotContain(" dnat ").contains("chain postrouting");
    }

    @Test
    void theDigestChangesWithTheRulesOnly() {
        String one = RouterNat.render(router().build(), TENANTS);
        assertThat(RouterNat.digestOf(RouterNat.render(router().build(), TENANTS))).isEqualTo(RouterNat.digestOf(one))
                .hasSize(24);
        assertThat(RouterNat.digestOf(RouterNat.render(router().clearFloatingIps().build(), TENANTS)))
                .isNotEqualTo(RouterNat.digestOf(one));
        // As nft lists the table back.
        assertThat(RouterNat.digestOf("table ip stratus_router {\n\tcomment \"" + RouterNat.digestOf(one) + "\"\n"))
                .isEqualTo(RouterNat.digestOf(one));
    }
}
