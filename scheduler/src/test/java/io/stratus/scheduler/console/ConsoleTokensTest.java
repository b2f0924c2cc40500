package io.stratus.scheduler.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class ConsoleTokensTest {
    private final MovableClock clock = new MovableClock();
    private final ConsoleTokens tokens = new ConsoleTokens(clock, Duration.ofMinutes(10));

    @Test
    void aTokenIsGoodForOneConnectionToItsInstance() {
        String token = tokens.issue("vm-1");

        assertThat(tokens.redeem(token)).hasValueSatisfying(g -> assertThat(g.instanceId()).isEqualTo("vm-1"));
        assertThat(tokens.redeem(token)).isEmpty();
    }

    @Test
    void anExpiredTokenIsRefused() {
        String token = tokens.issue("vm-1");
        clock.now = clock.now.plus(Duration.ofMinutes(10));

        assertThat(tokens.redeem(token)).isEmpty();
    }

    @Test
    void unknownAndMissingTokensAreRefused() {
        tokens.issue("vm-1");

        assertThat(tokens.redeem("0000")).isEmpty();
        assertThat(tokens.redeem(null)).isEmpty();
    }

    @Test
    void tokensDiffer() {
        assertThat(tokens.issue("vm-1")).isNotEqualTo(tokens.issue("vm-1")).hasSize(48);
    }

    private static final class MovableClock extends Clock {
        Instant now = Instant.parse("2026-12-07T08:00:00Z");

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
