package io.stratus.agent.migration;

import com.google.protobuf.InvalidProtocolBufferException;
import io.stratus.proto.v1.HostReport;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * The host directory as the scheduler builds it: a host's compacted report topic (only that
 * host's agent may write it), read from the beginning up to its end as of the call, keeping the
 * newest report that names the host. Read once per move rather than followed: moves are rare, the
 * topic is one record after compaction, and a read to the end offsets taken at the call sees
 * every report the scheduler could have filled the command's address from.
 */
public final class HostReportsDirectory implements HostDirectory {
    private static final Logger LOG = Logger.getLogger(HostReportsDirectory.class);
    private static final Duration POLL = Duration.ofMillis(200);

    private final Supplier<Consumer<String, byte[]>> consumers;
    private final Function<String, String> topics;
    private final Duration timeout;

    /**
     * @param consumers consumers without a group (assigned partitions, no commits)
     * @param topics a host's report topic
     */
    public HostReportsDirectory(Supplier<Consumer<String, byte[]>> consumers, Function<String, String> topics,
                                Duration timeout) {
        this.consumers = consumers;
        this.topics = topics;
        this.timeout = timeout;
    }

    @Override
    public Optional<String> grpcAddress(String host) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String topic = topics.apply(host);
        try (Consumer<String, byte[]> consumer = consumers.get()) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
            if (infos == null || infos.isEmpty()) {
                return Optional.empty();
            }
            List<TopicPartition> partitions = infos.stream().map(i -> new TopicPartition(i.topic(), i.partition()))
                    .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            Optional<String> address = Optional.empty();
            while (!end.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue())) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the host reports on " + topic + " were not read within "
                            + timeout.toSeconds() + " s");
                }
                for (ConsumerRecord<String, byte[]> r : consumer.poll(POLL)) {
                    if (host.equals(r.key())) {
                        address = addressIn(r);
                    }
                }
            }
            return address;
        }
    }

    /** The record's address; a deleted host (tombstone) or a record that does not parse has none. */
    private static Optional<String> addressIn(ConsumerRecord<String, byte[]> r) {
        if (r.value() == null) {
            return Optional.empty();
        }
        try {
            HostReport report = HostReport.parseFrom(r.value());
            return report.getHost().equals(r.key()) && !report.getGrpcAddress().isEmpty()
                    ? Optional.of(report.getGrpcAddress()) : Optional.empty();
        } catch (InvalidProtocolBufferException e) {
            LOG.warnf("%s-%d@%d: not a HostReport (%s); skipped", r.topic(), r.partition(), r.offset(), e.getMessage());
            return Optional.empty();
        }
    }
}
