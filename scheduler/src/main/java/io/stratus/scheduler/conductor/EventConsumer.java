package io.stratus.scheduler.conductor;

import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Topics;
import com.google.protobuf.InvalidProtocolBufferException;
import io.stratus.database.Sql;
import io.stratus.proto.v1.InstanceEvent;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

/**
 * Reads {@code stratus.events} into the {@link Conductor}. All replicas share one consumer group:
 * each event is handled by one of them. Offsets are committed after a batch is applied, so a
 * replica that dies mid-batch leaves it to the next; applying an event twice changes nothing (the
 * server keeps the newest sequence it applied).
 */
public final class EventConsumer implements Runnable {
    private static final Logger LOG = Logger.getLogger(EventConsumer.class);
    public static final String TOPIC = Topics.EVENTS;
    public static final String GROUP = "stratus-scheduler-events";

    private final KafkaConsumer<String, byte[]> consumer;
    private final Conductor conductor;
    private static final long RETRY_MILLIS = 1000;
    private volatile boolean running = true;

    public EventConsumer(KafkaClientSettings bus, String replica, Conductor conductor) {
        Properties p = bus.properties("stratus-scheduler-events-" + replica);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        this.conductor = conductor;
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(TOPIC));
            while (running) {
                ConsumerRecords<String, byte[]> batch = consumer.poll(Duration.ofMillis(500));
                Map<TopicPartition, OffsetAndMetadata> applied = new HashMap<>();
                boolean whole = true;
                for (ConsumerRecord<String, byte[]> r : batch) {
                    if (!handle(r)) {
                        whole = false;
                        break;
                    }
                    applied.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                if (whole) {
                    if (!batch.isEmpty()) {
                        consumer.commitSync();
                    }
                    continue;
                }
                // The database is unreachable: keep what was applied, read the rest again once it is back.
                if (!applied.isEmpty()) {
                    consumer.commitSync(applied);
                }
                for (TopicPartition tp : batch.partitions()) {
                    OffsetAndMetadata done = applied.get(tp);
                    consumer.seek(tp, done != null ? done.offset() : batch.records(tp).get(0).offset());
                }
                Thread.sleep(RETRY_MILLIS);
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /**
     * Applies one event; false when the database is unreachable and the event must be read
     * again later (it is never dropped for that). Any other failure is retried a few times, then
     * the event is logged and dropped: the task's timeout settles that server.
     */
    private boolean handle(ConsumerRecord<String, byte[]> r) {
        InstanceEvent e;
        try {
            e = InstanceEvent.parseFrom(r.value() == null ? new byte[0] : r.value());
        } catch (InvalidProtocolBufferException ex) {
            LOG.warnf("%s-%d@%d skipped: not an instance event: %s", r.topic(), r.partition(), r.offset(),
                    ex.getMessage());
            return true;
        }
        for (int attempt = 1; ; attempt++) {
            try {
                conductor.onEvent(e);
                return true;
            } catch (RuntimeException ex) {
                if (Sql.unreachable(ex)) {
                    LOG.warnf("event %s (instance %s) waits: the database is unreachable (%s)", e.getEventId(),
                            e.getInstanceId(), ex.getMessage());
                    return false;
                }
                if (attempt == 5) {
                    LOG.errorf(ex, "event %s (instance %s, request %s) dropped after %d attempts", e.getEventId(),
                            e.getInstanceId(), e.getRequestId(), attempt);
                    return true;
                }
                LOG.warnf("event %s (instance %s): %s; retrying", e.getEventId(), e.getInstanceId(), ex.getMessage());
                try {
                    Thread.sleep(200L * attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
    }

    public void stop() {
        running = false;
        consumer.wakeup();
    }
}
