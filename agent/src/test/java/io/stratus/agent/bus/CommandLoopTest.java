package io.stratus.agent.bus;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** The command loop over Kafka's mock consumer: it comes back from a failure and says when it cannot. */
class CommandLoopTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static CommandConsumer consumer(boolean broken) {
        MockConsumer<String, byte[]> kafka = new MockConsumer<>("earliest");
        if (broken) {
            kafka.setPollException(new KafkaException("the broker connection broke"));
        }
        EventPublisher publisher = new EventPublisher(new MockProducer<>(true, null, new StringSerializer(),
                new ByteArraySerializer()), "h1");
        return new CommandConsumer(kafka, publisher, null, "stratus.compute.h1", ForkJoinPool.commonPool());
    }

    @Test
    void aLoopThatBreaksIsStartedAgainAndPollsOnce() throws Exception {
        AtomicInteger made = new AtomicInteger();
        CommandLoop loop = new CommandLoop(() -> consumer(made.incrementAndGet() == 1), "test-loop",
                Duration.ofMillis(10));
        loop.start();
        try {
            await(loop::healthy);
            assertThat(loop.restarts()).isEqualTo(1);
            assertThat(loop.lastFailure()).contains("the broker connection broke");
            assertThat(loop.alive()).isTrue();
        } finally {
            loop.stop(WAIT);
        }
        assertThat(loop.healthy()).isFalse();
    }

    @Test
    void aLoopThatCannotRunIsNotAlive() throws Exception {
        CommandLoop loop = new CommandLoop(() -> consumer(true), "test-loop", Duration.ofMillis(1));
        loop.start();
        try {
            await(() -> !loop.alive());
            assertThat(loop.healthy()).isFalse();
            assertThat(loop.restarts()).isGreaterThanOrEqualTo(CommandLoop.DEAD_AFTER);
        } finally {
            loop.stop(WAIT);
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within " + WAIT).isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
