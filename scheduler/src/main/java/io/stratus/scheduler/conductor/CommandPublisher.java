package io.stratus.scheduler.conductor;

import io.stratus.kafka.client.Topics;
import io.stratus.proto.v1.CommandEnvelope;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Sends commands to agents: one topic per host ({@code stratus.compute.<host>}), keyed by instance
 * so that one instance's commands stay in order. A send returns once the broker has the command,
 * so an API call that answers 202 has really handed its work on.
 */
public final class CommandPublisher {
    /** The command topic of a host; the agent of that host is its only reader. */
    public static String topic(String host) {
        return Topics.compute(host);
    }

    private final Producer<String, byte[]> producer;

    public CommandPublisher(Producer<String, byte[]> producer) {
        this.producer = producer;
    }

    /** @throws DispatchException the broker did not take the command in time */
    public void send(String host, CommandEnvelope command) {
        try {
            producer.send(new ProducerRecord<>(topic(host), command.getInstanceId(), command.toByteArray()))
                    .get(15, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DispatchException("interrupted while sending " + command.getCommandCase() + " for "
                    + command.getInstanceId() + " to " + host, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new DispatchException("the message bus did not take " + command.getCommandCase() + " for instance "
                    + command.getInstanceId() + " to host " + host + ": " + e.getMessage(), e);
        }
    }
}
