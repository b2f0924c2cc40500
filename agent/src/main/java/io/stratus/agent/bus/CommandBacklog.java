package io.stratus.agent.bus;

import io.stratus.proto.v1.CommandEnvelope;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * The commands that waited for this host while its agent was away: what its topic holds between
 * the host's committed offsets and the end, read once at start without committing anything (the
 * command loop reads them again and applies each in order; a command applied here is answered
 * again there by its request id). Invalid records are skipped here: the loop dead-letters them.
 */
public final class CommandBacklog {
    private static final Logger LOG = Logger.getLogger(CommandBacklog.class);
    private static final Duration POLL = Duration.ofMillis(200);

    private CommandBacklog() {
    }

    /**
     * The valid envelopes waiting on {@code topic} for {@code consumer}'s group, oldest first per
     * partition; what could not be read within {@code limit} is left to the loop.
     */
    public static List<CommandEnvelope> read(Consumer<String, byte[]> consumer, String topic, Duration limit) {
        Set<TopicPartition> partitions = consumer.partitionsFor(topic, limit).stream()
                .map(p -> new TopicPartition(topic, p.partition())).collect(Collectors.toSet());
        consumer.assign(partitions);
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(partitions, limit);
        Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(partitions, limit));
        for (TopicPartition tp : partitions) {
            OffsetAndMetadata c = committed.get(tp);
            if (c != null) {
                consumer.seek(tp, c.offset());
            } else {
                consumer.seekToBeginning(List.of(tp));
            }
        }
        List<CommandEnvelope> out = new ArrayList<>();
        long deadline = System.nanoTime() + limit.toNanos();
        while (end.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())) {
            if (System.nanoTime() > deadline) {
                LOG.warnf("the backlog of %s was not read whole within %s; the command loop has the rest", topic,
                        limit);
                break;
            }
            for (ConsumerRecord<String, byte[]> r : consumer.poll(POLL)) {
                if (r.offset() < end.get(new TopicPartition(r.topic(), r.partition()))) {
                    CommandConsumer.parse(r.value()).envelope().ifPresent(out::add);
                }
            }
        }
        return out;
    }
}
