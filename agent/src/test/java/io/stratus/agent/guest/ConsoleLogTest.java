package io.stratus.agent.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConsoleLogTest {

    private static void write(ConsoleLog log, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        log.write(b, 0, b.length);
    }

    @Test
    void theTailKeepsTheLastBytesWithTheirOffsets() {
        ConsoleLog log = new ConsoleLog(8);
        write(log, "hello ");
        write(log, "world");
        ConsoleLog.Chunk tail = log.tail(100);
        assertThat(tail.offset()).isEqualTo(3);
        assertThat(new String(tail.bytes(), StandardCharsets.US_ASCII)).isEqualTo("lo world");
        assertThat(new String(log.tail(3).bytes(), StandardCharsets.US_ASCII)).isEqualTo("rld");
        assertThat(log.tail(0).bytes()).isEmpty();
        assertThat(log.written()).isEqualTo(11);
    }

    @Test
    void aSubscriberGetsTheTailThenEveryLaterByteOnce() {
        ConsoleLog log = new ConsoleLog(64);
        write(log, "boot\n");
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        List<Long> offsets = new ArrayList<>();
        ConsoleLog.Subscriber s = (offset, bytes) -> {
            offsets.add(offset);
            seen.write(bytes, 0, bytes.length);
        };
        log.subscribe(s, 64);
        write(log, "tick\n");
        log.unsubscribe(s);
        write(log, "after\n");
        assertThat(seen.toString(StandardCharsets.US_ASCII)).isEqualTo("boot\ntick\n");
        assertThat(offsets).containsExactly(0L, 5L);
    }

    @Test
    void closingEndsSubscriptionsAndRefusesNewOnes() {
        ConsoleLog log = new ConsoleLog(16);
        boolean[] closed = new boolean[2];
        log.subscribe(new ConsoleLog.Subscriber() {
            @Override
            public void output(long offset, byte[] bytes) {
            }

            @Override
            public void closed() {
                closed[0] = true;
            }
        }, 16);
        log.close();
        log.subscribe(new ConsoleLog.Subscriber() {
            @Override
            public void output(long offset, byte[] bytes) {
                throw new AssertionError("no output after close");
            }

            @Override
            public void closed() {
                closed[1] = true;
            }
        }, 16);
        assertThat(closed).containsExactly(true, true);
    }

    @Test
    void aReaderThatFailsLosesItsSubscriptionAndTheConsoleGoesOn() {
        ConsoleLog log = new ConsoleLog(64);
        int[] calls = {0};
        log.subscribe((offset, bytes) -> {
            if (calls[0]++ > 0) {
                throw new IllegalStateException("call is closed");
            }
        }, 64);
        ByteArrayOutputStream heard = new ByteArrayOutputStream();
        log.subscribe((offset, bytes) -> heard.writeBytes(bytes), 64);
        byte[] one = "one ".getBytes(StandardCharsets.US_ASCII);
        byte[] two = "two".getBytes(StandardCharsets.US_ASCII);
        log.write(one, 0, one.length);
        log.write(two, 0, two.length);
        assertThat(calls[0]).as("the failed reader is not called again").isEqualTo(2);
        assertThat(heard.toString(StandardCharsets.US_ASCII)).isEqualTo("one two");
        assertThat(log.text()).isEqualTo("one two");
    }

    @Test
    void everyReaderHearsTheEndEvenWhenOneFails() {
        ConsoleLog log = new ConsoleLog(16);
        boolean[] told = new boolean[1];
        log.subscribe(new ConsoleLog.Subscriber() {
            @Override
            public void output(long offset, byte[] bytes) {
            }

            @Override
            public void closed() {
                throw new IllegalStateException("call already closed");
            }
        }, 16);
        log.subscribe(new ConsoleLog.Subscriber() {
            @Override
            public void output(long offset, byte[] bytes) {
            }

            @Override
            public void closed() {
                told[0] = true;
            }
        }, 16);
        log.close();
        assertThat(told[0]).isTrue();
    }
}
