package io.stratus.kvm.devices;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The IB700 as Linux's ib700wdt drives it, on the port bus, with a timer the test runs by hand:
 * no KVM and no waiting.
 */
class Ib700WatchdogTest {
    /** Timeouts scheduled and not cancelled; the test fires them. */
    private static final class HandTimer implements Ib700Watchdog.Timer {
        record Scheduled(Duration delay, Runnable task, boolean[] cancelled) {
        }

        final List<Scheduled> scheduled = new ArrayList<>();

        @Override
        public Ib700Watchdog.Cancellable schedule(Duration delay, Runnable task) {
            boolean[] cancelled = {false};
            scheduled.add(new Scheduled(delay, task, cancelled));
            return () -> cancelled[0] = true;
        }

        List<Scheduled> live() {
            return scheduled.stream().filter(s -> !s.cancelled()[0]).toList();
        }

        /** Runs every timeout that was ever scheduled, cancelled or not, as a late timer thread might. */
        void fireAll() {
            List.copyOf(scheduled).forEach(s -> s.task().run());
        }
    }

    private final HandTimer timer = new HandTimer();
    private final AtomicInteger expiries = new AtomicInteger();
    private final Ib700Watchdog watchdog = new Ib700Watchdog(timer, expiries::incrementAndGet);
    private final Bus pio = new Bus("pio");

    Ib700WatchdogTest() {
        pio.register(Ib700Watchdog.STOP_PORT, 3, watchdog);
    }

    private void out(int port, int value) {
        assertThat(pio.write(port, ByteBuffer.wrap(new byte[] {(byte) value}))).isTrue();
    }

    @Test
    void theTimeoutTableIsTheBoards() {
        assertThat(Ib700Watchdog.timeoutOf(0)).hasSeconds(30);
        assertThat(Ib700Watchdog.timeoutOf(14)).hasSeconds(2);
        assertThat(Ib700Watchdog.timeoutOf(15)).isZero();
        assertThat(Ib700Watchdog.timeoutOf(0xf0)).as("only the low 4 bits count").hasSeconds(30);
    }

    @Test
    void aGuestThatArmsAndStopsFeedingIsReportedOnceAndTheDeviceDisarms() {
        out(Ib700Watchdog.START_PORT, 14);

        assertThat(timer.live()).singleElement().satisfies(s -> assertThat(s.delay()).hasSeconds(2));
        timer.live().get(0).task().run();

        assertThat(expiries).hasValue(1);
        assertThat(watchdog.armed()).isFalse();
    }

    @Test
    void aFeedStartsTheTimeoutAgainAndTheOldOneNeverFires() {
        out(Ib700Watchdog.START_PORT, 0);
        out(Ib700Watchdog.START_PORT, 0);

        assertThat(timer.live()).hasSize(1);
        timer.fireAll();

        assertThat(expiries).as("the first timeout was superseded; the second fired").hasValue(1);
    }

    @Test
    void aStoppedWatchdogDoesNotFire() {
        out(Ib700Watchdog.START_PORT, 15);
        out(Ib700Watchdog.STOP_PORT, 0);

        assertThat(timer.live()).isEmpty();
        timer.fireAll();

        assertThat(expiries).hasValue(0);
        assertThat(watchdog.armed()).isFalse();
    }

    @Test
    void aPausedVmsWatchdogWaitsAndRunsItsWholeTimeoutAfterResume() {
        out(Ib700Watchdog.START_PORT, 10);
        watchdog.suspend();

        assertThat(timer.live()).isEmpty();
        watchdog.resume();

        assertThat(timer.live()).singleElement().satisfies(s -> assertThat(s.delay()).hasSeconds(10));
        timer.live().get(0).task().run();
        assertThat(expiries).hasValue(1);
    }

    @Test
    void resumingAnUnarmedWatchdogSchedulesNothing() {
        watchdog.resume();

        assertThat(timer.scheduled).isEmpty();
    }

    @Test
    void readsFloatHighAndTheUnusedPortIsIgnored() {
        ByteBuffer b = ByteBuffer.allocate(1);
        assertThat(pio.read(Ib700Watchdog.START_PORT, b)).isTrue();
        assertThat(b.get(0)).isEqualTo((byte) 0xff);

        out(0x442, 14);

        assertThat(timer.scheduled).isEmpty();
    }

    @Test
    void closingCallsOffAnArmedTimer() {
        out(Ib700Watchdog.START_PORT, 14);

        watchdog.close();
        timer.fireAll();

        assertThat(expiries).hasValue(0);
    }
}
