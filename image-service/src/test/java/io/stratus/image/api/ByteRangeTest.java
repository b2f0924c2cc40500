package io.stratus.image.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ByteRangeTest {
    @Test
    void theThreeFormsResolveAgainstTheSize() {
        assertThat(ByteRange.parse(null, 100)).isEmpty();
        assertThat(ByteRange.parse("bytes=10-19", 100)).isEqualTo(Optional.of(new ByteRange(10, 19)));
        assertThat(ByteRange.parse("bytes=90-", 100)).contains(new ByteRange(90, 99));
        assertThat(ByteRange.parse("bytes=-5", 100)).contains(new ByteRange(95, 99));
        assertThat(ByteRange.parse("bytes=-500", 100)).contains(new ByteRange(0, 99));
        assertThat(ByteRange.parse("bytes=50-5000", 100)).contains(new ByteRange(50, 99));
        assertThat(ByteRange.parse("bytes=0-0", 1).orElseThrow().length()).isEqualTo(1);
    }

    @Test
    void malformedSeveralOrOutsideRangesAreUnsatisfiable() {
        for (String bad : List.of("bytes=", "bytes=-", "bytes=5-1", "bytes=100-", "bytes=-0", "items=0-1",
                "bytes=0-1,5-6", "bytes=99999999999999999999-", "bytes=9999999999999999999-1", "bytes=a-b")) {
            assertThatThrownBy(() -> ByteRange.parse(bad, 100)).as(bad)
                    .isInstanceOf(ByteRange.UnsatisfiableException.class);
        }
        assertThatThrownBy(() -> ByteRange.parse("bytes=0-", 0)).isInstanceOf(ByteRange.UnsatisfiableException.class);
    }
}
