package io.stratus.agent.bus;

import com.google.protobuf.InvalidProtocolBufferException;
import io.stratus.agent.command.CommandHandler;
import io.stratus.agent.command.PublishException;
import io.stratus.agent.store.StoreException;
import io.stratus.proto.v1.CommandEnvelope;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

/**
 * The agent's command loop on {@code stratus.compute.<host>}: one record at a time, in order.
 * Offsets are committed (once per polled batch) only after the handler recorded each record's
 * result and published its events (at-least-once; the handler de-duplicates by request id). A record that is not a valid
 * envelope goes to {@code stratus.compute.dlq} with the reason, and the loop goes on. If the
 * store or the bus fails, the record is retried after a pause, never skipped.
 */
public final class CommandConsumer implements Runnable {
    private static final Logger LOG = Logger.getLogger(CommandConsumer.class);
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");
    private static final int MAX_REQUEST_ID = 128;
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration RETRY_PAUSE = Duration.ofSeconds(2);

    private final Consumer<String, byte[]> consumer;
    private final EventPublisher publisher;
    private final CommandHandler handler;
    private final String topic;
    private volatile boolean running = true;
    private volatile boolean polling;

    public CommandConsumer(Consumer<String, byte[]> consumer, EventPublisher publisher, CommandHandler handler,
                           String topic) {
        this.consumer = consumer;
        this.publisher = publisher;
        this.handler = handler;
        this.topic = topic;
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(topic));
            while (running) {
                ConsumerRecords<String, byte[]> records = consumer.poll(POLL);
                polling = true;
                Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();
                Map<TopicPartition, Long> first = new HashMap<>();
                for (ConsumerRecord<String, byte[]> record : records) {
                    first.putIfAbsent(new TopicPartition(record.topic(), record.partition()), record.offset());
                    if (!running || !apply(record)) {
                        break;
                    }
                    done.put(new TopicPartition(record.topic(), record.partition()),
                            new OffsetAndMetadata(record.offset() + 1));
                }
                if (!done.isEmpty()) {
                    commit(done, first);
                }
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } finally {
            polling = false;
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** Applies one record; false when it must be retried (the consumer was moved back to it). */
    private boolean apply(ConsumerRecord<String, byte[]> record) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        try {
            Parsed parsed = parse(record.value());
            if (parsed.envelope().isPresent()) {
                handler.handle(parsed.envelope().get());
            } else {
                deadLetter(record, parsed.problem());
            }
            return true;
        } catch (StoreException | PublishException e) {
            LOG.errorf("command at %s@%d not applied, retrying in %d s: %s", tp, record.offset(),
                    RETRY_PAUSE.toSeconds(), e.getMessage());
            consumer.seek(tp, record.offset());
            pause();
            return false;
        }
    }

    /** A record's value as an envelope, or why it is not one. */
    record Parsed(Optional<CommandEnvelope> envelope, String problem) {
    }

    /** Reads a record's value; never throws, whatever the bytes. */
    static Parsed parse(byte[] value) {
        try {
            CommandEnvelope env = CommandEnvelope.parseFrom(value == null ? new byte[0] : value);
            Optional<String> problem = invalid(env);
            return problem.map(p -> new Parsed(Optional.empty(), p)).orElseGet(() -> new Parsed(Optional.of(env), ""));
        } catch (InvalidProtocolBufferException e) {
            return new Parsed(Optional.empty(), "not a CommandEnvelope: " + e.getMessage());
        }
    }

    /**
     * Commits the batch once its events are acknowledged. Every record in it is already recorded
     * and answered, so a crash before the commit only redelivers requests the handler recognises.
     * If the bus lost an event, the batch is read again: the handler answers each request anew.
     */
    private void commit(Map<TopicPartition, OffsetAndMetadata> done, Map<TopicPartition, Long> first) {
        try {
            publisher.awaitDelivery();
        } catch (PublishException e) {
            LOG.errorf("events of the last commands not delivered, reading them again in %d s: %s",
                    RETRY_PAUSE.toSeconds(), e.getMessage());
            first.forEach(consumer::seek);
            pause();
            return;
        }
        consumer.commitSync(done);
    }

    static Optional<String> invalid(CommandEnvelope env) {
        if (env.getRequestId().isEmpty() || env.getRequestId().length() > MAX_REQUEST_ID) {
            return Optional.of("request_id must be 1 to " + MAX_REQUEST_ID + " characters");
        }
        if (!ID.matcher(env.getInstanceId()).matches()) {
            return Optional.of("instance_id '" + env.getInstanceId()
                    + "' is not an id (1-64 letters, digits, '.', '_', ':' or '-')");
        }
        if (env.getCommandCase() == CommandEnvelope.CommandCase.COMMAND_NOT_SET) {
            return Optional.of("the envelope carries no command (or one this agent does not know)");
        }
        if (env.hasBoot() && env.getTenantId().isEmpty()) {
            return Optional.of("a boot command needs a tenant_id");
        }
        return Optional.empty();
    }

    private void deadLetter(ConsumerRecord<String, byte[]> record, String reason) {
        LOG.warnf("command at %s-%d@%d goes to %s: %s", record.topic(), record.partition(), record.offset(),
                Topics.DLQ, reason);
        ProducerRecord<String, byte[]> letter = new ProducerRecord<>(Topics.DLQ, record.key(), record.value());
        letter.headers().add(Topics.DLQ_REASON_HEADER, reason.getBytes(StandardCharsets.UTF_8));
        letter.headers().add(Topics.DLQ_SOURCE_HEADER, (record.topic() + "-" + record.partition() + "@"
                + record.offset()).getBytes(StandardCharsets.UTF_8));
        publisher.send(letter);
    }

    private void pause() {
        try {
            Thread.sleep(RETRY_PAUSE.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    /** Whether the loop has polled the broker and runs. */
    public boolean healthy() {
        return running && polling;
    }

    /** Ends the loop after the record in hand; the caller joins the thread. */
    public void stop() {
        running = false;
        consumer.wakeup();
    }
}
