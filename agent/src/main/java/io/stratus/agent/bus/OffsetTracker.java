package io.stratus.agent.bus;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Which records of each partition are done while later ones may finish first (commands of
 * different instances run side by side): what may be committed is everything below the oldest
 * record not done yet.
 */
final class OffsetTracker {
    private final Map<TopicPartition, TreeSet<Long>> pending = new HashMap<>();
    private final Map<TopicPartition, Long> next = new HashMap<>();
    private final Map<TopicPartition, Long> committed = new HashMap<>();

    synchronized void taken(TopicPartition tp, long offset) {
        pending.computeIfAbsent(tp, k -> new TreeSet<>()).add(offset);
        next.merge(tp, offset + 1, Math::max);
    }

    synchronized void done(TopicPartition tp, long offset) {
        TreeSet<Long> p = pending.get(tp);
        if (p != null) {
            p.remove(offset);
        }
    }

    /** Records taken and not done yet, all partitions together. */
    synchronized int inFlight() {
        return pending.values().stream().mapToInt(TreeSet::size).sum();
    }

    /** The offsets to commit now: per partition, the oldest record not done (or past the last taken). */
    synchronized Map<TopicPartition, OffsetAndMetadata> committable() {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        for (Map.Entry<TopicPartition, Long> e : next.entrySet()) {
            TreeSet<Long> p = pending.get(e.getKey());
            long upTo = p == null || p.isEmpty() ? e.getValue() : p.first();
            if (upTo > committed.getOrDefault(e.getKey(), -1L)) {
                out.put(e.getKey(), new OffsetAndMetadata(upTo));
            }
        }
        return out;
    }

    synchronized void committed(Map<TopicPartition, OffsetAndMetadata> offsets) {
        offsets.forEach((tp, o) -> committed.merge(tp, o.offset(), Math::max));
    }
}
