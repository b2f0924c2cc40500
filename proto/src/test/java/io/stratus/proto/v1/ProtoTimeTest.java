package io.stratus.proto.v1;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ProtoTimeTest {
    @Test
    void keepsNanosecondsBothWays() {
        Instant t = Instant.parse("2026-12-07T05:00:01.123456789Z");
        Timestamp ts = ProtoTime.timestamp(t);
        assertThat(ts.getSeconds()).isEqualTo(t.getEpochSecond());
        assertThat(ts.getNanos()).isEqualTo(123_456_789);
        assertThat(ProtoTime.instant(ts)).isEqualTo(t);
    }

    @Test
    void readsInstantsBeforeTheEpoch() {
        Instant t = Instant.parse("1969-12-31T23:59:59.250Z");
        Timestamp ts = ProtoTime.timestamp(t);
        // Protobuf's rule: seconds negative, nanos still counted forwards.
        assertThat(ts.getSeconds()).isEqualTo(-1);
        assertThat(ts.getNanos()).isEqualTo(250_000_000);
        assertThat(ProtoTime.instant(ts)).isEqualTo(t);
    }

    @Test
    void readsAnUnsetTimestampAsTheEpoch() {
        assertThat(ProtoTime.instant(Timestamp.getDefaultInstance())).isEqualTo(Instant.EPOCH);
    }
}
