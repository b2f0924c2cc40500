package io.stratus.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BoundedMatchTest {
    @Test
    void matchesAsARegularExpressionDoes() {
        assertThat(BoundedMatch.of("^web-[0-9]+$", "name").find("web-12")).isTrue();
        assertThat(BoundedMatch.of("^web-[0-9]+$", "name").find("db-1")).isFalse();
        assertThat(BoundedMatch.of("demo", "name").find("my-demo-2")).isTrue();
    }

    @Test
    void aCatastrophicPatternIsA400NotAStuckThread() {
        // Polynomial backtracking of high degree: millions of reads for a 32-character name.
        String subject = "a".repeat(11) + "x".repeat(20) + "!";
        long start = System.nanoTime();
        assertThatThrownBy(() -> BoundedMatch.of("(.*a){12}$", "name").find(subject))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(400))
                .hasMessageContaining("too costly");
        assertThat(System.nanoTime() - start).as("gave up quickly").isLessThan(5_000_000_000L);
    }

    @Test
    void anInvalidPatternIsA400() {
        assertThatThrownBy(() -> BoundedMatch.of("(", "name"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(400));
    }
}
