package io.stratus.scheduler.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class CidrTest {
    @Test
    void parsesOnlyLiteralPrefixes() {
        assertThat(Cidr.parse("10.0.0.0/24").map(Cidr::toString)).contains("10.0.0.0/24");
        assertThat(Cidr.parse("10.0.0.7/24").map(Cidr::toString)).contains("10.0.0.0/24");
        assertThat(Cidr.parse("2001:db8:0:0::/64").map(Cidr::toString)).contains("2001:db8::/64");
        for (String bad : new String[] {"192.168.1./24", "192.168.1.1/33", "bad_prefix", "256", "10.0.0.0/x",
                "localhost"}) {
            assertThat(Cidr.parse(bad)).as(bad).isEqualTo(Optional.empty());
        }
    }

    @Test
    void comparesAndOverlapsByNumber() {
        Cidr a = Cidr.parse("10.0.0.0/28").orElseThrow();
        assertThat(a.last().toString()).isEqualTo("10.0.0.15");
        assertThat(a.next().toString()).isEqualTo("10.0.0.16/28");
        assertThat(a.overlaps(Cidr.parse("10.0.0.8/29").orElseThrow())).isTrue();
        assertThat(a.overlaps(Cidr.parse("10.0.0.16/29").orElseThrow())).isFalse();
        assertThat(a.overlaps(Cidr.parse("fd00::/8").orElseThrow())).isFalse();
    }

    @Test
    void defaultPoolsLeaveOutNetworkBroadcastAndGateway() {
        Cidr c = Cidr.parse("10.0.0.0/29").orElseThrow();
        assertThat(SubnetStore.defaultPools(c, IpAddress.parse("10.0.0.1")))
                .extracting(p -> p.start() + "-" + p.end()).containsExactly("10.0.0.2-10.0.0.6");
        assertThat(SubnetStore.defaultPools(c, IpAddress.parse("10.0.0.4")))
                .extracting(p -> p.start() + "-" + p.end()).containsExactly("10.0.0.1-10.0.0.3", "10.0.0.5-10.0.0.6");
    }
}
