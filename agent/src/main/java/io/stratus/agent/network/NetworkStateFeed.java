package io.stratus.agent.network;

import com.google.protobuf.InvalidProtocolBufferException;
import io.stratus.proto.v1.HostNetworkState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

/**
 * Follows this host's {@code HostNetworkState} on the compacted topic {@code stratus.network}: every
 * agent reads the whole topic from the beginning, without a consumer group (each needs every
 * record, and a restart must see the latest state again), and keeps the newest record whose key is
 * its host. Once it has read up to the end it applies that state, then each newer one, and again
 * every {@code resync} to repair drift. A record that does not parse is logged and skipped; a state
 * older than one applied is ignored. Until a state for this host has been read, nothing is
 * applied: an agent must not tear down its guests' networks because the control plane has not
 * spoken yet.
 */
public final class NetworkStateFeed implements Runnable {
    private static final Logger LOG = Logger.getLogger(NetworkStateFeed.class);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration RETRY = Duration.ofSeconds(5);

    private final Supplier<org.apache.kafka.clients.consumer.Consumer<String, byte[]>> consumers;
    private final String topic;
    private final String host;
    private final Consumer<HostNetworkState> apply;
    private final Duration resync;
    private final Clock clock;
    private volatile boolean running = true;
    private volatile org.apache.kafka.clients.consumer.Consumer<String, byte[]> current;
    private HostNetworkState latest;
    private long appliedGeneration = -1;
    private boolean pending;
    private Instant nextResync = Instant.MIN;

    /** @param apply makes the host's data plane a state (the reconciler); its exceptions are logged */
    public NetworkStateFeed(Supplier<org.apache.kafka.clients.consumer.Consumer<String, byte[]>> consumers,
                            String topic, String host, Consumer<HostNetworkState> apply, Duration resync, Clock clock) {
        this.consumers = consumers;
        this.topic = topic;
        this.host = host;
        this.apply = apply;
        this.resync = resync;
        this.clock = clock;
    }

    @Override
    public void run() {
        while (running) {
            try (var consumer = consumers.get()) {
                current = consumer;
                follow(consumer);
            } catch (WakeupException e) {
                if (running) {
                    LOG.warnf("network state feed woken up while running; starting again");
                }
            } catch (RuntimeException e) {
                LOG.errorf(e, "network state feed of %s failed; starting again in %d s", host, RETRY.toSeconds());
                pause();
            }
        }
    }

    private void follow(org.apache.kafka.clients.consumer.Consumer<String, byte[]> consumer) {
        List<TopicPartition> partitions = List.of();
        while (running && partitions.isEmpty()) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic);
            partitions = infos == null ? List.of()
                    : infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            if (partitions.isEmpty()) {
                pause();
            }
        }
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        boolean caughtUp = false;
        while (running) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(POLL)) {
                offer(r);
            }
            caughtUp = caughtUp || end.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
            if (caughtUp) {
                applyIfDue();
            }
        }
    }

    /** Takes one record: this host's, well-formed, and not older than what was applied. */
    void offer(ConsumerRecord<String, byte[]> record) {
        if (!host.equals(record.key()) || record.value() == null) {
            return;
        }
        HostNetworkState state;
        try {
            state = HostNetworkState.parseFrom(record.value());
        } catch (InvalidProtocolBufferException e) {
            LOG.warnf("%s-%d@%d: not a HostNetworkState (%s); skipped", record.topic(), record.partition(),
                    record.offset(), e.getMessage());
            return;
        }
        if ((long) state.getGeneration() < appliedGeneration
                || latest != null && Long.compareUnsigned(state.getGeneration(), latest.getGeneration()) < 0) {
            LOG.infof("network state generation %d of %s is older than %d; ignored", state.getGeneration(), host,
                    Math.max(appliedGeneration, latest == null ? -1 : latest.getGeneration()));
            return;
        }
        latest = state;
        pending = true;
    }

    /** Applies the latest state if it is new, or if the periodic repair is due. */
    void applyIfDue() {
        Instant now = clock.instant();
        if (latest == null || !pending && now.isBefore(nextResync)) {
            return;
        }
        pending = false;
        nextResync = now.plus(resync);
        try {
            apply.accept(latest);
            appliedGeneration = latest.getGeneration();
        } catch (RuntimeException e) {
            appliedGeneration = latest.getGeneration();
            LOG.errorf("network state generation %d of %s not fully applied (again in %d s): %s",
                    latest.getGeneration(), host, resync.toSeconds(), e.getMessage());
        }
    }

    public void stop() {
        running = false;
        var c = current;
        if (c != null) {
            c.wakeup();
        }
    }

    private void pause() {
        try {
            Thread.sleep(RETRY.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    /** A consumer without group: assigned partitions, no committed offsets. */
    public static Map<String, Object> consumerSettings(io.stratus.kafka.client.KafkaClientSettings bus, String host) {
        Map<String, Object> m = bus.map("stratus-agent-network-" + host);
        m.putAll(Map.of("enable.auto.commit", "false", "isolation.level", "read_committed",
                "key.deserializer", org.apache.kafka.common.serialization.StringDeserializer.class.getName(),
                "value.deserializer", org.apache.kafka.common.serialization.ByteArrayDeserializer.class.getName()));
        return m;
    }

    /** Makes the consumer {@link #consumerSettings} describe. */
    public static org.apache.kafka.clients.consumer.Consumer<String, byte[]> kafka(
            io.stratus.kafka.client.KafkaClientSettings bus, String host) {
        return new KafkaConsumer<>(consumerSettings(bus, host));
    }
}
