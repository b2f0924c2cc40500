package io.stratus.scheduler.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class IpAddressTest {
    /** An IPv6 literal's text as the model writes it (RFC 5952), or empty when it is not one. */
    private static Optional<String> v6(String text) {
        return IpAddress.parse(text).filter(a -> a.version() == 6).map(IpAddress::toString);
    }

    @Test
    void writesRfc5952Text() {
        assertThat(v6("0000:0000:0000:0000:0000:babe:220.12.22.2")).contains("::babe:dc0c:1602");
        assertThat(v6("2001:0DB8:0000:0000:0001:0000:0000:0001")).contains("2001:db8::1:0:0:1");
        assertThat(v6("2001:db8:0:1:1:1:1:1")).as("one zero group stays").contains("2001:db8:0:1:1:1:1:1");
        assertThat(v6("::")).contains("::");
        assertThat(v6("::1")).contains("::1");
        assertThat(v6("fe80::")).contains("fe80::");
    }

    @Test
    void refusesWhatIsNotAnIpv6Literal() {
        assertThat(v6("1.2.3.4")).isEmpty();
        assertThat(v6("2001:db8::g")).isEmpty();
        assertThat(v6(":::")).isEmpty();
    }
}
