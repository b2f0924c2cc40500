package io.stratus.agent.bus;

import io.stratus.kafka.client.Topics;
import com.google.protobuf.InvalidProtocolBufferException;
import io.stratus.agent.command.CommandApplier;
import io.stratus.agent.command.PublishException;
import io.stratus.agent.store.AgentStore;
import io.stratus.agent.store.StoreException;
import io.stratus.proto.v1.CommandEnvelope;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
 * The agent's command loop on {@code stratus.compute.<host>}. Each instance's commands are applied
 * in order, one at a time, on a lane of its own; different instances' run side by side (a boot
 * that fetches a large image holds up nobody else's delete). An offset is committed only once
 * every record before it is done and its events are acknowledged (at-least-once; the handler
 * de-duplicates by request id). A record that is not a valid envelope goes to
 * the host's {@code stratus.dlq.<host>} with the reason. If the store or the bus fails, the record is tried
 * again on its lane after a pause, never skipped; a record that meets a bug is tried a few times,
 * then set aside in the dead-letter topic with the reason.
 */
public final class CommandConsumer implements Runnable {
    private static final Logger LOG = Logger.getLogger(CommandConsumer.class);
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");
    private static final int MAX_REQUEST_ID = 128;
    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration RETRY_PAUSE = Duration.ofSeconds(2);
    private static final int MAX_ATTEMPTS = 3;
    /** Records taken but not done beyond which the loop stops fetching more (the lanes catch up). */
    private static final int MAX_IN_FLIGHT = 256;
    /** How long a stop waits for the commands in hand. */
    private static final Duration DRAIN = Duration.ofMinutes(2);

    private final Consumer<String, byte[]> consumer;
    private final EventPublisher publisher;
    private final CommandApplier handler;
    private final String topic;
    private final ExecutorService lanesPool;
    private final Map<String, CompletableFuture<Void>> lanes = new ConcurrentHashMap<>();
    private final OffsetTracker offsets = new OffsetTracker();
    private volatile boolean running = true;
    private volatile boolean polling;
    private volatile boolean everPolled;

    /**
     * @param lanesPool runs the instances' lanes: as many threads as commands may run at once
     */
    public CommandConsumer(Consumer<String, byte[]> consumer, EventPublisher publisher, CommandApplier handler,
                           String topic, ExecutorService lanesPool) {
        this.consumer = consumer;
        this.publisher = publisher;
        this.handler = handler;
        this.topic = topic;
        this.lanesPool = lanesPool;
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(topic));
            while (running) {
                ConsumerRecords<String, byte[]> records = consumer.poll(POLL);
                polling = true;
                everPolled = true;
                for (ConsumerRecord<String, byte[]> record : records) {
                    take(record);
                }
                if (offsets.inFlight() > MAX_IN_FLIGHT) {
                    consumer.pause(consumer.assignment());
                } else if (!consumer.paused().isEmpty()) {
                    consumer.resume(consumer.paused());
                }
                commit();
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } finally {
            running = false;
            polling = false;
            try {
                drain();
                commit();
            } catch (RuntimeException e) {
                LOG.warnf("command offsets not committed on the way out (the records come again): %s",
                        e.getMessage());
            } finally {
                consumer.close(Duration.ofSeconds(5));
            }
        }
    }

    private void take(ConsumerRecord<String, byte[]> record) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        offsets.taken(tp, record.offset());
        Parsed parsed = parse(record.value());
        if (parsed.envelope().isEmpty()) {
            deadLetter(record, parsed.problem());
            offsets.done(tp, record.offset());
            return;
        }
        CommandEnvelope env = parsed.envelope().get();
        String lane = env.getInstanceId();
        CompletableFuture<Void> queued = lanes.compute(lane, (id, tail) ->
                (tail == null ? CompletableFuture.<Void>completedFuture(null) : tail).thenRunAsync(() -> {
                    if (running && apply(record, env)) {
                        offsets.done(tp, record.offset());
                    }
                }, lanesPool));
        // An idle lane goes; a command queued behind this one has replaced it already and stays.
        queued.whenComplete((v, e) -> lanes.remove(lane, queued));
    }

    /**
     * Applies one record on its lane until it is done; false when the loop stops before (the
     * record is not committed and comes again).
     */
    private boolean apply(ConsumerRecord<String, byte[]> record, CommandEnvelope env) {
        String at = record.topic() + "-" + record.partition() + "@" + record.offset();
        for (int attempt = 1; running; attempt++) {
            try {
                handler.handle(env);
                return true;
            } catch (StoreException | PublishException e) {
                LOG.errorf("command at %s not applied, retrying in %d s: %s", at, RETRY_PAUSE.toSeconds(),
                        e.getMessage());
                attempt = 0;
            } catch (RuntimeException e) {
                // A bug met by this record: tried again a few times (it may have been the moment), then set
                // aside with the reason, so that one record cannot stop its instance's every later command.
                LOG.errorf(e, "command at %s failed unexpectedly (attempt %d of %d)", at, attempt, MAX_ATTEMPTS);
                if (attempt >= MAX_ATTEMPTS) {
                    deadLetter(record, "applying it failed " + MAX_ATTEMPTS + " times: " + e);
                    return true;
                }
            }
            pause();
        }
        return false;
    }

    /** Lets the commands in hand finish; those not started yet stay uncommitted and come again. */
    private void drain() {
        CompletableFuture<?>[] inHand = lanes.values().toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(inHand).get(DRAIN.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warnf("commands still in hand after %d s; their records come again", DRAIN.toSeconds());
        }
    }

    /**
     * Commits what is done, once its events are acknowledged. A crash before the commit only
     * redelivers requests the handler recognises. If the bus lost an event, this loop ends: the
     * next one reads from the last commit and the handler answers each request anew.
     */
    private void commit() {
        Map<TopicPartition, OffsetAndMetadata> done = offsets.committable();
        if (done.isEmpty()) {
            return;
        }
        publisher.awaitDelivery();
        consumer.commitSync(done);
        offsets.committed(done);
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
        // What the host's records cannot hold would fail to be stored on every delivery.
        if (env.getTenantId().length() > AgentStore.MAX_TENANT_ID) {
            return Optional.of("tenant_id is " + env.getTenantId().length() + " characters; at most "
                    + AgentStore.MAX_TENANT_ID + " are kept");
        }
        String name = env.hasBoot() ? env.getBoot().getName()
                : env.hasPrepareMigrationTarget() ? env.getPrepareMigrationTarget().getInstance().getName() : "";
        if (name.length() > AgentStore.MAX_NAME) {
            return Optional.of("the instance's name is " + name.length() + " characters; at most "
                    + AgentStore.MAX_NAME + " are kept");
        }
        return Optional.empty();
    }

    private void deadLetter(ConsumerRecord<String, byte[]> record, String reason) {
        LOG.warnf("command at %s-%d@%d goes to %s: %s", record.topic(), record.partition(), record.offset(),
                Topics.deadLetters(publisher.host()), reason);
        ProducerRecord<String, byte[]> letter = new ProducerRecord<>(Topics.deadLetters(publisher.host()), record.key(),
                record.value());
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
        }
    }

    /** Whether the loop has polled the broker and runs. */
    public boolean healthy() {
        return running && polling;
    }

    /** Whether this loop ever polled the broker. */
    boolean polled() {
        return everPolled;
    }

    /** Ends the loop after the record in hand; the caller joins the thread. */
    public void stop() {
        running = false;
        consumer.wakeup();
    }
}
