package io.stratus.agent.it;

import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Topics;
import com.google.protobuf.InvalidProtocolBufferException;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.InstanceEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** The scheduler's side of the bus, for tests: sends commands, collects events. */
final class CommandBus implements AutoCloseable {
    private final KafkaProducer<String, byte[]> producer;
    private final KafkaConsumer<String, byte[]> events;
    private final List<InstanceEvent> seen = new ArrayList<>();

    /** @param bus the control plane's identity ({@code LocalBus.controlPlane()}) */
    CommandBus(KafkaClientSettings bus) {
        Properties p = bus.properties("test-commands");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        events = consumer(bus, Topics.HOST_EVENTS);
    }

    /** Reads every host's topic of a family ({@code Topics.HOST_EVENTS}, ...), as the control plane does. */
    static KafkaConsumer<String, byte[]> consumer(KafkaClientSettings bus, java.util.regex.Pattern topics) {
        KafkaConsumer<String, byte[]> consumer = unsubscribed(bus);
        consumer.subscribe(topics);
        return consumer;
    }

    static KafkaConsumer<String, byte[]> consumer(KafkaClientSettings bus, String topic) {
        KafkaConsumer<String, byte[]> consumer = unsubscribed(bus);
        consumer.subscribe(List.of(topic));
        return consumer;
    }

    private static KafkaConsumer<String, byte[]> unsubscribed(KafkaClientSettings bus) {
        Properties c = bus.properties("test-" + UUID.randomUUID());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // A pattern finds a topic made after it subscribed at the next metadata refresh: soon.
        c.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "1000");
        return new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
    }

    void send(String host, CommandEnvelope env) {
        sendRaw(host, env.getInstanceId(), env.toByteArray());
    }

    void sendRaw(String host, String key, byte[] value) {
        try {
            producer.send(new ProducerRecord<>(Topics.compute(host), key, value)).get();
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The first event (seen before or arriving within {@code timeout}) that matches. */
    InstanceEvent await(Predicate<InstanceEvent> match, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (InstanceEvent e : seen) {
                if (match.test(e)) {
                    return e;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no matching event within " + timeout + "; events so far:\n" + describe());
            }
            poll();
        }
    }

    /** Every event for the request so far. */
    List<InstanceEvent> forRequest(String requestId) {
        poll();
        return seen.stream().filter(e -> e.getRequestId().equals(requestId)).toList();
    }

    List<InstanceEvent> forInstance(String instanceId) {
        poll();
        return seen.stream().filter(e -> e.getInstanceId().equals(instanceId)).toList();
    }

    private void poll() {
        for (ConsumerRecord<String, byte[]> r : events.poll(Duration.ofMillis(200))) {
            try {
                seen.add(InstanceEvent.parseFrom(r.value()));
            } catch (InvalidProtocolBufferException e) {
                throw new AssertionError("the agent published something that is not an InstanceEvent", e);
            }
        }
    }

    String describe() {
        StringBuilder b = new StringBuilder();
        for (InstanceEvent e : seen) {
            b.append(e.getInstanceId()).append(' ').append(e.getState()).append('/').append(e.getTaskState())
                    .append(" req=").append(e.getRequestId()).append(e.hasFault() ? " fault=" + e.getFault()
                            .getCode() + ": " + e.getFault().getMessage() : "").append('\n');
        }
        return b.toString();
    }

    @Override
    public void close() {
        producer.close();
        events.close();
    }
}
