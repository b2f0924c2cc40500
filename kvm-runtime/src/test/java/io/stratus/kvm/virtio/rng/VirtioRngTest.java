package io.stratus.kvm.virtio.rng;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.sys.EventFd;
import io.stratus.kvm.virtio.MockDriver;
import io.stratus.kvm.virtio.VirtQueue;
import io.stratus.kvm.virtio.VirtioFeatures;
import io.stratus.kvm.virtio.VirtioInterrupt;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** virtio-rng driven by a mock driver over real guest memory (no KVM). */
@Timeout(30)
class VirtioRngTest {
    private static final int QSIZE = 8;

    private final GuestMemory memory = GuestMemory.x86(16L << 20, false);
    private final AtomicInteger interrupts = new AtomicInteger();
    private final AtomicInteger resets = new AtomicInteger();
    private final VirtioRng rng = new VirtioRng("rng");
    private final EventFd notifier = EventFd.create(false);
    private MockDriver driver;

    @BeforeEach
    void start() {
        driver = new MockDriver(memory, QSIZE, 1L << 20);
        VirtQueue queue = driver.configure(new VirtQueue(rng.queueMaxSize()));
        queue.setSize(QSIZE);
        rng.activate(memory, VirtioFeatures.VERSION_1, List.of(queue), List.of(notifier),
                new VirtioInterrupt(interrupts::incrementAndGet), resets::incrementAndGet);
    }

    @AfterEach
    void stop() {
        rng.reset();
        notifier.close();
        memory.close();
    }

    private MockDriver.Used request() throws InterruptedException {
        driver.publish(0);
        notifier.write(1);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        MockDriver.Used used;
        while ((used = driver.takeUsed()) == null) {
            assertThat(System.nanoTime()).as("the request came back").isLessThan(deadline);
            Thread.sleep(2);
        }
        return used;
    }

    /** Makes descriptor 0's chain available and notifies; 100 ms later, nothing has come back. */
    private void offerAndSeeNothingBack(String why) throws InterruptedException {
        driver.publish(0);
        notifier.write(1);
        Thread.sleep(100);
        assertThat(driver.takeUsed()).as(why).isNull();
    }

    private byte[] read(long address, int length) {
        byte[] b = new byte[length];
        memory.read(GuestAddress.of(address), b);
        return b;
    }

    @Test
    void buffersComeBackFullOfRandomBytesAcrossTheirSegments() throws Exception {
        long first = driver.allocate(64);
        long second = driver.allocate(4096 + 100);
        driver.descriptor(0, first, 64, VirtQueue.DESC_F_WRITE | VirtQueue.DESC_F_NEXT, 1);
        driver.descriptor(1, second, 4096 + 100, VirtQueue.DESC_F_WRITE, 0);
        MockDriver.Used used = request();
        assertThat(used.length()).isEqualTo(64 + 4096 + 100);
        assertThat(read(first, 64)).as("not left as it was").isNotEqualTo(new byte[64]);
        // The last bytes of a segment longer than one chunk are filled too.
        assertThat(read(second + 4096, 100)).isNotEqualTo(new byte[100]);
        assertThat(interrupts.get()).isPositive();

        byte[] before = read(first, 64);
        driver.descriptor(0, first, 64, VirtQueue.DESC_F_WRITE, 0);
        assertThat(request().length()).isEqualTo(64);
        assertThat(read(first, 64)).as("a second request gets other bytes").isNotEqualTo(before);
        assertThat(rng.bytesServed()).isEqualTo(64 + 4096 + 100 + 64);
    }

    @Test
    void aRequestGetsAtMostTheLimitAndTheDriverAsksAgain() throws Exception {
        int asked = VirtioRng.MAX_REQUEST_BYTES + 4096;
        long at = driver.allocate(asked);
        driver.descriptor(0, at, asked, VirtQueue.DESC_F_WRITE, 0);
        assertThat(request().length()).isEqualTo(VirtioRng.MAX_REQUEST_BYTES);
        assertThat(read(at + VirtioRng.MAX_REQUEST_BYTES, 4096)).as("beyond the limit: untouched")
                .isEqualTo(new byte[4096]);
    }

    @Test
    void requestsThatBreakTheSpecComeBackEmptyAndTheDeviceGoesOn() throws Exception {
        long at = driver.allocate(64);
        // Device-readable: the driver must not offer those.
        driver.descriptor(0, at, 64, 0, 0);
        assertThat(request().length()).isZero();
        assertThat(read(at, 64)).isEqualTo(new byte[64]);
        // Outside guest memory: the chain is returned failed by the queue.
        driver.descriptor(0, 1L << 40, 64, VirtQueue.DESC_F_WRITE, 0);
        assertThat(request().length()).isZero();
        // A chain that loops.
        driver.descriptor(0, at, 32, VirtQueue.DESC_F_WRITE | VirtQueue.DESC_F_NEXT, 1);
        driver.descriptor(1, at + 32, 32, VirtQueue.DESC_F_WRITE | VirtQueue.DESC_F_NEXT, 0);
        assertThat(request().length()).isZero();

        driver.descriptor(0, at, 64, VirtQueue.DESC_F_WRITE, 0);
        assertThat(request().length()).isEqualTo(64);
        assertThat(resets.get()).as("no reset was needed").isZero();
    }

    @Test
    void aPausedDeviceServesWhatArrivedMeanwhileOnResume() throws Exception {
        rng.pause();
        long at = driver.allocate(64);
        driver.descriptor(0, at, 64, VirtQueue.DESC_F_WRITE, 0);
        offerAndSeeNothingBack("nothing while paused");
        rng.resume();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        MockDriver.Used used;
        while ((used = driver.takeUsed()) == null) {
            assertThat(System.nanoTime()).isLessThan(deadline);
            Thread.sleep(2);
        }
        assertThat(used.length()).isEqualTo(64);
    }
    /**
     * Three requests of a burst's size: the first is served at once, the others wait for the
     * allowance to fill, so that the three cannot end sooner than the rate allows.
     */
    @Test
    void aLimitedDeviceServesNoFasterThanItsRate() throws Exception {
        long start = System.nanoTime();
        rng.limit(Optional.of(new EntropyRate(1000, Duration.ofMillis(250))));
        long at = driver.allocate(1000);
        for (int i = 0; i < 3; i++) {
            driver.descriptor(0, at, 1000, VirtQueue.DESC_F_WRITE, 0);
            assertThat(request().length()).as("request %d, served whole", i).isEqualTo(1000);
        }
        // 1000 bytes at once, then 2000 more at 4000 a second: at least 500 ms.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(500));
        assertThat(rng.bytesServed()).isEqualTo(3000);

        rng.limit(Optional.empty());
        driver.descriptor(0, at, 1000, VirtQueue.DESC_F_WRITE, 0);
        assertThat(request().length()).as("no limit any more").isEqualTo(1000);
    }

    /** A request waiting for its allowance does not hold up a pause: it comes back empty. */
    @Test
    void aRequestWaitingForItsAllowanceComesBackEmptyWhenTheDevicePauses() throws Exception {
        rng.limit(Optional.of(new EntropyRate(64, Duration.ofHours(1))));
        long at = driver.allocate(64);
        driver.descriptor(0, at, 64, VirtQueue.DESC_F_WRITE, 0);
        assertThat(request().length()).isEqualTo(64);
        driver.descriptor(0, at, 64, VirtQueue.DESC_F_WRITE, 0);
        offerAndSeeNothingBack("waiting for the next hour's allowance");
        rng.pause();
        MockDriver.Used used = driver.takeUsed();
        assertThat(used).as("returned by the time pause() returns").isNotNull();
        assertThat(used.length()).isZero();
        assertThat(rng.bytesServed()).isEqualTo(64);
    }
}
