package io.stratus.scheduler.api.compute;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class Ipv6TextTest {
    @Test
    void writesRfc5952Text() {
        assertThat(Ipv6Text.canonical("0000:0000:0000:0000:0000:babe:220.12.22.2")).contains("::babe:dc0c:1602");
        assertThat(Ipv6Text.canonical("2001:0DB8:0000:0000:0001:0000:0000:0001")).contains("2001:db8::1:0:0:1");
        assertThat(Ipv6Text.canonical("2001:db8:0:1:1:1:1:1")).as("one zero group stays").contains("2001:db8:0:1:1:1:1:1");
        assertThat(Ipv6Text.canonical("::")).contains("::");
        assertThat(Ipv6Text.canonical("::1")).contains("::1");
        assertThat(Ipv6Text.canonical("fe80::")).contains("fe80::");
    }

    @Test
    void refusesWhatIsNotAnIpv6Literal() {
        assertThat(Ipv6Text.canonical("1.2.3.4")).isEmpty();
        assertThat(Ipv6Text.canonical("2001:db8::g")).isEmpty();
        assertThat(Ipv6Text.canonical(":::")).isEmpty();
    }
}
