package io.stratus.agent.bus;

import com.google.protobuf.MessageLite;
import io.stratus.agent.command.EventSink;
import io.stratus.agent.command.PublishException;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceSample;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Publishes the agent's messages. Events wait for the broker's acknowledgement (acks=all) before
 * {@link #publish} returns: a command's offset is committed only after its events are safe.
 * Reports and samples are fire-and-forget: the next one replaces a lost one.
 */
public final class EventPublisher implements EventSink {
    private static final long ACK_TIMEOUT_SECONDS = 30;

    private final Producer<String, byte[]> producer;

    public EventPublisher(Producer<String, byte[]> producer) {
        this.producer = producer;
    }

    @Override
    public void publish(InstanceEvent event) {
        send(Topics.EVENTS, event.getInstanceId(), event);
    }

    public void publish(HostReport report) {
        producer.send(new ProducerRecord<>(Topics.HOSTS, report.getHost(), report.toByteArray()));
    }

    public void publish(InstanceSample sample) {
        producer.send(new ProducerRecord<>(Topics.TELEMETRY, sample.getInstanceId(), sample.toByteArray()));
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

    private void send(String topic, String key, MessageLite message) {
        send(new ProducerRecord<>(topic, key, message.toByteArray()));
    }
}
