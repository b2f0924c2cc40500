package io.stratus.agent.bus;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Start;
import io.stratus.proto.v1.Stop;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The command loop over Kafka's mock consumer: instances' commands run side by side, each
 * instance's in order, and an offset is committed only once every record before it is done.
 */
class CommandLanesTest {
    private static final String TOPIC = "stratus.compute.h1";
    private static final TopicPartition TP = new TopicPartition(TOPIC, 0);
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ExecutorService pool = Executors.newFixedThreadPool(4);
    private final MockConsumer<String, byte[]> kafka = new MockConsumer<>("earliest");
    private final List<String> applied = new CopyOnWriteArrayList<>();
    private final CountDownLatch slowBootMayEnd = new CountDownLatch(1);
    private CommandConsumer loop;
    private Thread thread;

    @AfterEach
    void stop() throws Exception {
        slowBootMayEnd.countDown();
        if (loop != null) {
            loop.stop();
            thread.join(WAIT.toMillis());
        }
        pool.shutdownNow();
    }

    private static CommandEnvelope command(String request, String instance, boolean start) {
        CommandEnvelope.Builder b = CommandEnvelope.newBuilder().setRequestId(request).setInstanceId(instance);
        return (start ? b.setStart(Start.getDefaultInstance()) : b.setStop(Stop.getDefaultInstance())).build();
    }

    private void startLoop(CommandEnvelope... commands) {
        kafka.schedulePollTask(() -> {
            kafka.rebalance(List.of(TP));
            kafka.updateBeginningOffsets(Map.of(TP, 0L));
            for (int i = 0; i < commands.length; i++) {
                kafka.addRecord(new ConsumerRecord<>(TOPIC, 0, i, commands[i].getInstanceId(),
                        commands[i].toByteArray()));
            }
        });
        loop = new CommandConsumer(kafka, new EventPublisher(new MockProducer<>(true, null, new StringSerializer(),
                new ByteArraySerializer()), "h1"), env -> {
                    if (env.getRequestId().equals("a1")) {
                        try {
                            // A boot waiting for a large image.
                            assertThat(slowBootMayEnd.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    applied.add(env.getRequestId());
                }, TOPIC, pool);
        thread = new Thread(loop, "command-loop-test");
        thread.start();
    }

    @Test
    void anotherInstancesCommandsDoNotWaitForASlowOneAndOffsetsWaitForTheOldest() throws Exception {
        startLoop(command("a1", "i-a", true), command("b1", "i-b", false), command("a2", "i-a", false),
                command("b2", "i-b", true));
        await(() -> applied.containsAll(List.of("b1", "b2")));
        assertThat(applied).as("i-a's commands wait for its first; i-b's do not").containsExactly("b1", "b2");
        Thread.sleep(300);
        assertThat(committed()).as("nothing past the slow first record").isIn(-1L, 0L);

        slowBootMayEnd.countDown();
        await(() -> applied.size() == 4);
        assertThat(applied.indexOf("a1")).as("one instance's commands in order").isLessThan(applied.indexOf("a2"));
        await(() -> committed() == 4);
    }

    private long committed() {
        Map<TopicPartition, OffsetAndMetadata> c = kafka.committed(Set.of(TP));
        OffsetAndMetadata o = c.get(TP);
        return o == null ? -1 : o.offset();
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within " + WAIT).isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
