package io.stratus.kvm.virtio.rng;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The entropy allowance on a clock the test moves. */
class TokenBucketTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final TokenBucket bucket = new TokenBucket(new EntropyRate(1000, Duration.ofSeconds(1)), now::get);

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void aFullBucketGivesOnePeriodsBytesThenFillsAtTheRate() {
        assertThat(bucket.take(600)).isEqualTo(600);
        assertThat(bucket.take(600)).as("400 left: not enough for 600").isZero();
        assertThat(bucket.nanosUntil(600)).isEqualTo(Duration.ofMillis(200).toNanos());
        advance(Duration.ofMillis(199));
        assertThat(bucket.take(600)).isZero();
        advance(Duration.ofMillis(1));
        assertThat(bucket.take(600)).isEqualTo(600);
        assertThat(bucket.take(1)).isZero();
    }

    @Test
    void aRequestLargerThanAPeriodIsServedAPeriodAtATime() {
        assertThat(bucket.take(5000)).isEqualTo(1000);
        assertThat(bucket.nanosUntil(5000)).as("a full period's bytes, not all 5000").isEqualTo(
                Duration.ofSeconds(1).toNanos());
        advance(Duration.ofSeconds(1));
        assertThat(bucket.take(5000)).isEqualTo(1000);
    }

    @Test
    void aQuietSpellSavesNoMoreThanOnePeriod() {
        advance(Duration.ofHours(1));
        assertThat(bucket.take(5000)).isEqualTo(1000);
        assertThat(bucket.take(1)).isZero();
    }

    @Test
    void ratesThatAllowNothingAreRefused() {
        assertThatThrownBy(() -> new EntropyRate(0, Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 1 byte");
        assertThatThrownBy(() -> new EntropyRate(10, Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("positive");
        assertThatThrownBy(() -> new EntropyRate(Long.MAX_VALUE / 2, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("set no limit instead");
    }
}
