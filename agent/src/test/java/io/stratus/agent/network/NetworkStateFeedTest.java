package io.stratus.agent.network;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.HostNetworkState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class NetworkStateFeedTest {
    private final List<HostNetworkState> applied = new ArrayList<>();
    private final NetworkStateFeed feed = new NetworkStateFeed(() -> null, "stratus.network", "h1", applied::add,
            Duration.ofSeconds(60), Clock.fixed(Instant.EPOCH, ZoneOffset.UTC));

    private static ConsumerRecord<String, byte[]> record(String key, byte[] value) {
        return new ConsumerRecord<>("stratus.network", 0, 0, key, value);
    }

    private static byte[] state(String host, long generation) {
        return HostNetworkState.newBuilder().setHost(host).setGeneration(generation).build().toByteArray();
    }

    @Test
    void appliesTheLatestStateOfItsOwnHostOnly() {
        feed.offer(record("h1", state("h1", 3)));
        feed.offer(record("h2", state("h2", 9)));
        feed.offer(record("h1", state("h1", 4)));
        feed.applyIfDue();
        assertThat(applied).extracting(HostNetworkState::getGeneration).containsExactly(4L);
    }

    @Test
    void skipsMalformedRecordsAndIgnoresOlderGenerations() {
        feed.offer(record("h1", state("h1", 5)));
        feed.applyIfDue();
        feed.offer(record("h1", new byte[] {(byte) 0xff, 0x01}));
        feed.offer(record("h1", state("h1", 4)));
        feed.offer(record("h1", null));
        feed.applyIfDue();
        assertThat(applied).extracting(HostNetworkState::getGeneration).containsExactly(5L);
    }

    @Test
    void appliesNothingBeforeAStateForItsHostArrived() {
        feed.applyIfDue();
        assertThat(applied).isEmpty();
    }
}
