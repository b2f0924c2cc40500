package io.stratus.bench;

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

/**
 * The control plane's side of one host's bus, for the demo and the agent benchmark: commands to
 * {@code stratus.compute.<host>}, instance events from {@code stratus.events.<host>} (read from the
 * start, in a group of its own).
 */
public final class CommandChannel implements AutoCloseable {
    private final String topic;
    private final KafkaProducer<String, byte[]> producer;
    private final KafkaConsumer<String, byte[]> events;

    /** @param bus the control plane's identity ({@code LocalBus.controlPlane()}): it sends commands */
    public CommandChannel(KafkaClientSettings bus, String host) {
        this.topic = Topics.compute(host);
        Properties p = bus.properties("stratus-cli-commands");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        Properties c = bus.properties("stratus-cli-events");
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "stratus-cli-" + UUID.randomUUID());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "1000");
        events = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
        // Every host's event topic (a move's events come from two hosts); found within a second as hosts appear.
        events.subscribe(Topics.HOST_EVENTS);
    }

    /** Queues a command (key: its instance id); {@link #flush} waits for everything queued. */
    public void send(CommandEnvelope env) {
        producer.send(new ProducerRecord<>(topic, env.getInstanceId(), env.toByteArray()));
    }

    /** Sends a command and waits until the broker has it. */
    public void sendNow(CommandEnvelope env) throws InterruptedException, ExecutionException {
        producer.send(new ProducerRecord<>(topic, env.getInstanceId(), env.toByteArray())).get();
    }

    public void flush() {
        producer.flush();
    }

    /** Events that arrived within {@code timeout}. */
    public List<InstanceEvent> poll(Duration timeout) throws InvalidProtocolBufferException {
        List<InstanceEvent> out = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : events.poll(timeout)) {
            out.add(InstanceEvent.parseFrom(r.value()));
        }
        return out;
    }

    @Override
    public void close() {
        producer.close();
        events.close();
    }
}
