package io.stratus.proto.v1;

import com.google.protobuf.Timestamp;
import java.time.Instant;

/**
 * The contract's {@link Timestamp} and Java's {@link Instant}, each way, to the nanosecond.
 * Written here rather than taken from protobuf-java-util: its {@code Timestamps} knows no
 * {@code Instant} (only millis, micros and nanos since the epoch), and it would bring Gson and
 * Guava to every module that reads the contract.
 */
public final class ProtoTime {
    private ProtoTime() {
    }

    public static Timestamp timestamp(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }

    /**
     * The instant {@code t} stands for. An unset timestamp reads as the epoch; nanos out of range
     * (a message from a careless sender) are carried into the seconds rather than refused.
     */
    public static Instant instant(Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }
}
