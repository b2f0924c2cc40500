package io.stratus.agent.migration;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.HostReport;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class HostReportsDirectoryTest {
    private static final String TOPIC = "stratus.hosts";
    private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);

    /** A directory over a topic holding {@code values} (key, value) in this order in one partition. */
    private static HostReportsDirectory over(List<Map.Entry<String, byte[]>> values) {
        return new HostReportsDirectory(() -> {
            MockConsumer<String, byte[]> c = new MockConsumer<>(OffsetResetStrategy.EARLIEST);
            c.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, null, null, null)));
            c.updateBeginningOffsets(Map.of(P0, 0L));
            c.updateEndOffsets(Map.of(P0, (long) values.size()));
            c.schedulePollTask(() -> {
                for (int i = 0; i < values.size(); i++) {
                    c.addRecord(new ConsumerRecord<>(TOPIC, 0, i, values.get(i).getKey(), values.get(i).getValue()));
                }
            });
            return c;
        }, host -> TOPIC, Duration.ofSeconds(5));
    }

    private static Map.Entry<String, byte[]> report(String key, String host, String address) {
        return Map.entry(key, HostReport.newBuilder().setHost(host).setGrpcAddress(address).build().toByteArray());
    }

    @Test
    void givesTheAddressOfTheHostsNewestReport() throws Exception {
        HostReportsDirectory d = over(List.of(report("a", "a", "10.0.0.1:8081"), report("b", "b", "10.0.0.2:8081"),
                report("a", "a", "10.0.0.9:8081")));
        assertThat(d.grpcAddress("a")).contains("10.0.0.9:8081");
        assertThat(d.grpcAddress("b")).contains("10.0.0.2:8081");
        assertThat(d.grpcAddress("c")).isEmpty();
    }

    @Test
    void aRemovedHostAReportUnderAnotherHostsKeyAndGarbageRegisterNothing() throws Exception {
        assertThat(over(List.of(report("a", "a", "10.0.0.1:8081"), new AbstractMap.SimpleEntry<>("a", (byte[]) null)))
                .grpcAddress("a")).isEmpty();
        assertThat(over(List.of(report("a", "evil", "10.6.6.6:8081"))).grpcAddress("a")).isEmpty();
        assertThat(over(List.of(report("a", "a", "10.0.0.1:8081"), Map.entry("a", new byte[] {(byte) 0xff, 1})))
                .grpcAddress("a")).isEmpty();
    }

    @Test
    void aTopicThatDoesNotExistYetRegistersNothing() throws Exception {
        HostReportsDirectory d = new HostReportsDirectory(() -> new MockConsumer<>(OffsetResetStrategy.EARLIEST),
                host -> TOPIC, Duration.ofSeconds(5));
        assertThat(d.grpcAddress("a")).isEmpty();
    }
}
