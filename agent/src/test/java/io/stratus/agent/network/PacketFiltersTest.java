package io.stratus.agent.network;

import static io.stratus.agent.network.States.port;
import static io.stratus.agent.network.States.rule;
import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.AllowedAddressPair;
import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.SecurityGroupRule;
import io.stratus.proto.v1.SecurityGroupRule.Direction;
import io.stratus.proto.v1.SecurityGroupRules;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PacketFiltersTest {
    private static final String NET = "aaaaaaaa-0000-4000-8000-00000000000a";

    @Test
    void replacesBothTablesInOneScript() {
        String script = PacketFilters.render(HostNetworkState.getDefaultInstance(), Map.of());
        assertThat(script).startsWith(PacketFilters.removal())
                .contains("table bridge stratus {", "table inet stratus {")
                .contains("iifname \"tap*\" drop", "oifname \"tap*\" drop");
    }

    @Test
    void aSecuredPortSendsOnlyFromItsOwnAddressesAndGetsOnlyWhatItsGroupsAllow() {
        var p = port("p1000000-0000", NET, "fa:16:3e:00:00:01", "s", "10.0.0.5", "g").toBuilder()
                .addAllowedAddressPairs(AllowedAddressPair.newBuilder().setIpAddress("10.0.0.0/28")).build();
        var group = SecurityGroupRules.newBuilder().setSecurityGroupId("g")
                .addRules(rule(Direction.INGRESS, 6, 22, 22).toBuilder().setRemoteIpPrefix("192.0.2.7/24"))
                .addRules(rule(Direction.EGRESS, 0, 0, 0)).build();
        String script = PacketFilters.render(HostNetworkState.newBuilder().addPorts(p).addSecurityGroups(group).build(),
                Map.of());
        assertThat(script).contains("elements = { fa:16:3e:00:00:01 }", "elements = { 10.0.0.5, 10.0.0.0/28 }",
                "ether saddr != @p1_mac drop", "ether type ip udp sport 67 drop", "ether type ip ip saddr @p1_v4 return",
                "meta nfproto ipv4 ip saddr 192.0.2.0/24 meta l4proto 6 th dport 22 accept",
                "meta nfproto ipv4 return",
                "iifname vmap { \"tapp1000000-00\" : jump from_1 }",
                "meta mark and 0x0000ffff vmap { 0x00000001 : jump ingress_1 }");
    }

    @Test
    void rulesMatchProtocolsPortsIcmpAndRemoteGroups() {
        Map<String, Integer> groups = Map.of("other", 3);
        assertThat(PacketFilters.match(rule(Direction.INGRESS, 17, 1000, 2000), groups))
                .isEqualTo("meta nfproto ipv4 meta l4proto 17 th dport 1000-2000");
        assertThat(PacketFilters.match(rule(Direction.EGRESS, 47, 0, 0), groups))
                .isEqualTo("meta nfproto ipv4 meta l4proto 47");
        SecurityGroupRule icmp = rule(Direction.INGRESS, 1, 8, 0).toBuilder().setHasIcmpType(true).setIpVersion(6)
                .setRemoteGroupId("other").build();
        assertThat(PacketFilters.match(icmp, groups))
                .isEqualTo("meta nfproto ipv6 ip6 saddr @sg3_v6 meta l4proto ipv6-icmp icmpv6 type 8");
    }

    @Test
    void aPortWithoutPortSecurityIsKnownButUnfiltered() {
        var p = port("p2000000-0000", NET, "fa:16:3e:00:00:02", "s", "10.0.0.6");
        String script = PacketFilters.render(HostNetworkState.newBuilder().addPorts(p).build(), Map.of());
        assertThat(script).contains("iifname \"tap*\" iifname != { \"tapp2000000-00\" } drop")
                .doesNotContain("ingress_1", "@p1_mac");
    }

    @Test
    void malformedPortsAndRulesAreLeftOutNotRendered() {
        var bad = port("p3", NET, "fa:16:3e:00:00:03", "s", "10.0.0.7").toBuilder().setTap("tap; flush ruleset").build();
        var group = SecurityGroupRules.newBuilder().setSecurityGroupId("g")
                .addRules(rule(Direction.INGRESS, 6, 22, 22).toBuilder().setRemoteIpPrefix("fd00::/64")).build();
        List<String> problems = new ArrayList<>();
        var valid = ValidState.of(HostNetworkState.newBuilder().addPorts(bad).addSecurityGroups(group).build(),
                problems::add);
        assertThat(valid.getPortsList()).isEmpty();
        assertThat(valid.getSecurityGroups(0).getRulesList()).isEmpty();
        assertThat(problems).hasSize(2);
        assertThat(PacketFilters.render(valid, Map.of())).doesNotContain("flush ruleset");
    }
}
