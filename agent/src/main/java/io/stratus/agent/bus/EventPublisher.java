package io.stratus.agent.bus;

import io.stratus.kafka.client.Topics;
import io.stratus.agent.command.EventSink;
import io.stratus.agent.command.PublishException;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceSample;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Publishes the agent's messages. Events are sent without waiting (the idempotent producer keeps
 * their order per instance) and {@link #awaitDelivery} waits for the broker's acknowledgements
 * (acks=all): the command loop commits an offset only after that. Reports and samples are
 * fire-and-forget: the next one replaces a lost one. Everything goes to this host's own topics
 * ({@code stratus.events.<host>}, ...), the only ones its certificate may write.
 */
public final class EventPublisher implements EventSink {
    private static final long ACK_TIMEOUT_SECONDS = 30;

    private final Producer<String, byte[]> producer;
    private final String host;
    /** The first failed send since the last {@link #awaitDelivery}. */
    private final AtomicReference<Exception> failure = new AtomicReference<>();

    public EventPublisher(Producer<String, byte[]> producer, String host) {
        this.producer = producer;
        this.host = host;
    }

    /** The host whose topics this publishes to. */
    public String host() {
        return host;
    }

    @Override
    public void publish(InstanceEvent event) {
        try {
            producer.send(new ProducerRecord<>(Topics.events(host), event.getInstanceId(), event.toByteArray()),
                    (metadata, error) -> {
                        if (error != null) {
                            failure.compareAndSet(null, error);
                        }
                    });
        } catch (KafkaException e) {
            failure.compareAndSet(null, e);
        }
    }

    @Override
    public void awaitDelivery() {
        try {
            producer.flush();
        } catch (KafkaException e) {
            failure.compareAndSet(null, e);
        }
        Exception e = failure.getAndSet(null);
        if (e != null) {
            throw new PublishException("events not accepted by Kafka: " + e.getMessage(), e);
        }
    }

    public void publish(HostReport report) {
        producer.send(new ProducerRecord<>(Topics.hostReports(report.getHost()), report.getHost(),
                report.toByteArray()));
    }

    public void publish(InstanceSample sample) {
        producer.send(new ProducerRecord<>(Topics.telemetry(host), sample.getInstanceId(), sample.toByteArray()));
    }

    /** Sends a record and waits for the broker to acknowledge it. */
    void send(ProducerRecord<String, byte[]> record) {
        try {
            producer.send(record).get(ACK_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new PublishException("cannot publish to " + record.topic() + " (key " + record.key() + "): "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PublishException("interrupted while publishing to " + record.topic(), e);
        }
    }

}
