package io.stratus.scheduler.identity;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Token times as Keystone writes them: what tempest's and keystoneauth's parsers take. */
class TokenTimeTest {
    @Test
    void sixFractionalDigitsAlwaysInUtc() {
        assertThat(IdentityViews.tokenTime(Instant.parse("2026-12-07T00:11:38.320129737Z")))
                .isEqualTo("2026-12-07T00:11:38.320129Z");
        assertThat(IdentityViews.tokenTime(Instant.parse("2026-12-07T00:11:38Z")))
                .isEqualTo("2026-12-07T00:11:38.000000Z");
    }
}
