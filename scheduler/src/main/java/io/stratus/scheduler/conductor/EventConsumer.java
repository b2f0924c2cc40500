package io.stratus.scheduler.conductor;

import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Topics;
import com.google.protobuf.InvalidProtocolBufferException;
import io.stratus.database.Sql;
import io.stratus.proto.v1.InstanceEvent;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
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
 * Reads the hosts' event topics ({@code stratus.events.<host>}, found by pattern as hosts appear)
 * into the {@link Conductor}. All replicas share one consumer group: each event is handled by one
 * of them. Offsets are committed after a batch is applied, so a replica that dies mid-batch leaves
 * it to the next; applying an event twice changes nothing (the server keeps the newest sequence it
 * applied).
 *
 * <p>Only a host's agent may write its topic (the brokers' ACLs), so the topic names the event's
 * writer; an event its writer may not have sent ({@link EventOrigins}) is a forgery (or a
 * misconfigured agent): it is dropped, counted and logged, and never reaches the conductor.
 */
public final class EventConsumer implements Runnable {
    private static final Logger LOG = Logger.getLogger(EventConsumer.class);
    public static final String GROUP = "stratus-scheduler-events";
    /** How soon a new host's topic is found: the pattern is matched against the cluster's metadata. */
    private static final String TOPIC_DISCOVERY_MS = "2000";

    private final KafkaConsumer<String, byte[]> consumer;
    private final Conductor conductor;
    private final EventOrigins origins;
    private final AtomicLong forged = new AtomicLong();
    private static final long RETRY_MILLIS = 1000;
    private volatile boolean running = true;

    public EventConsumer(KafkaClientSettings bus, String replica, Conductor conductor, EventOrigins origins) {
        Properties p = bus.properties("stratus-scheduler-events-" + replica);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, TOPIC_DISCOVERY_MS);
        this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        this.conductor = conductor;
        this.origins = origins;
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(Topics.HOST_EVENTS);
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
        String writer = Topics.hostOfEvents(r.topic()).orElse("");
        for (int attempt = 1; ; attempt++) {
            try {
                Optional<String> refused = origins.refusal(e, writer);
                if (refused.isPresent()) {
                    forged.incrementAndGet();
                    LOG.warnf("%s-%d@%d dropped: event %s (instance %s) cannot come from host '%s': %s", r.topic(),
                            r.partition(), r.offset(), e.getEventId(), e.getInstanceId(), writer, refused.get());
                    return true;
                }
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

    /** Events dropped because their writer may not have sent them. */
    public long forgedEvents() {
        return forged.get();
    }

    public void stop() {
        running = false;
        consumer.wakeup();
    }
}
