package io.stratus.kvm.virtio.balloon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.sys.EventFd;
import io.stratus.kvm.virtio.MockDriver;
import io.stratus.kvm.virtio.VirtQueue;
import io.stratus.kvm.virtio.VirtioFeatures;
import io.stratus.kvm.virtio.VirtioInterrupt;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** virtio-balloon driven by a mock driver over real guest memory (no KVM). */
@Timeout(30)
class VirtioBalloonTest {
    private static final long MEMORY = 64L << 20;
    private static final int QSIZE = 16;
    private static final long DATA = 32L << 20; // guest pages the tests give up; far from the rings
    private static final long ALL = VirtioFeatures.VERSION_1 | VirtioBalloon.F_STATS_VQ
            | VirtioBalloon.F_DEFLATE_ON_OOM | VirtioBalloon.F_PAGE_REPORTING;

    private final GuestMemory memory = GuestMemory.x86(MEMORY, false);
    private final AtomicInteger interrupts = new AtomicInteger();
    private final VirtioInterrupt irq = new VirtioInterrupt(interrupts::incrementAndGet);
    private final VirtioBalloon balloon = new VirtioBalloon("balloon", MEMORY, Duration.ofMillis(50));
    private final List<MockDriver> drivers = new ArrayList<>();
    private final List<EventFd> notifiers = new ArrayList<>();

    @AfterEach
    void tearDown() {
        balloon.reset();
        notifiers.forEach(EventFd::close);
        memory.close();
    }

    /** Activates with {@code features}; queue i of the driver lives at 1 MiB * (i + 1). */
    private void start(long features, int queues) {
        List<VirtQueue> qs = new ArrayList<>();
        for (int i = 0; i < queues; i++) {
            MockDriver d = new MockDriver(memory, QSIZE, (i + 1L) << 20);
            drivers.add(d);
            VirtQueue q = d.configure(new VirtQueue(VirtioBalloon.QUEUE_SIZE));
            q.setSize(QSIZE);
            qs.add(q);
            notifiers.add(EventFd.create(false));
        }
        // The transport offers four queues; the unused ones are there but not ready.
        while (qs.size() < balloon.queueCount()) {
            qs.add(new VirtQueue(VirtioBalloon.QUEUE_SIZE));
            notifiers.add(EventFd.create(false));
        }
        balloon.activate(memory, features, qs, notifiers, irq, () -> { });
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(2);
        }
    }

    private MockDriver.Used awaitUsed(int queue) throws InterruptedException {
        MockDriver.Used[] got = new MockDriver.Used[1];
        await(() -> (got[0] = drivers.get(queue).takeUsed()) != null, "a used buffer on queue " + queue);
        return got[0];
    }

    /** Sends page frame numbers on the inflate (0) or deflate (1) queue. */
    private void sendPfns(int queue, long... pfns) throws InterruptedException {
        MockDriver d = drivers.get(queue);
        ByteBuffer b = ByteBuffer.allocate(pfns.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (long pfn : pfns) {
            b.putInt((int) pfn);
        }
        long at = d.allocate(b.capacity());
        memory.write(GuestAddress.of(at), b.array());
        d.descriptor(0, at, b.capacity(), 0, 0);
        d.publish(0);
        notifiers.get(queue).write(1);
        assertThat(awaitUsed(queue).head()).isZero();
    }

    private void dirty(long address, long length) {
        memory.fill(GuestAddress.of(address), length, (byte) 0x5a);
    }

    private long pfn(long address) {
        return address / VirtioBalloon.PAGE;
    }

    @Test
    void targetIsInTheConfigSpaceAndAnnouncedAsAConfigChange() {
        start(ALL, 4);
        balloon.setTarget(16L << 20);
        ByteBuffer config = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        balloon.readConfig(0, config);
        assertThat(config.getInt(0)).isEqualTo(4096);
        assertThat(irq.status() & VirtioInterrupt.CONFIG_CHANGE).isNotZero();
        assertThat(balloon.targetBytes()).isEqualTo(16L << 20);

        ByteBuffer actual = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 1000);
        balloon.writeConfig(4, actual);
        assertThat(balloon.actualBytes()).isEqualTo(1000L * 4096);
    }

    @Test
    void refusesATargetAboveGuestMemoryAndKeepsTheOldOne() {
        balloon.setTarget(8L << 20);
        assertThatThrownBy(() -> balloon.setTarget(MEMORY + 4096))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside 0 to the guest's 64 MiB");
        assertThatThrownBy(() -> balloon.setTarget(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(balloon.targetBytes()).isEqualTo(8L << 20);
    }

    @Test
    void inflatedPagesGoBackToTheHostAndReadAsZero() throws Exception {
        start(ALL, 4);
        dirty(DATA, 8 * 4096);
        long residentBefore = memory.residentBytes();
        // Two runs and a stray page, as a guest's balloon list would hold them.
        sendPfns(0, pfn(DATA), pfn(DATA) + 1, pfn(DATA) + 2, pfn(DATA) + 5, pfn(DATA) + 6);
        assertThat(balloon.inflatedBytes()).isEqualTo(5 * 4096);
        assertThat(memory.readLong(GuestAddress.of(DATA))).isZero();
        assertThat(memory.readLong(GuestAddress.of(DATA + 6 * 4096 + 8))).isZero();
        assertThat(memory.readByte(GuestAddress.of(DATA + 3 * 4096))).isEqualTo((byte) 0x5a);
        assertThat(memory.readByte(GuestAddress.of(DATA + 7 * 4096))).isEqualTo((byte) 0x5a);
        // Five pages freed, then three of them touched again by the reads above.
        assertThat(memory.residentBytes()).isLessThan(residentBefore);

        sendPfns(1, pfn(DATA), pfn(DATA) + 1);
        assertThat(balloon.deflatedBytes()).isEqualTo(2 * 4096);
    }

    @Test
    void pagesOutsideGuestMemoryAreIgnoredAndTheQueueGoesOn() throws Exception {
        start(ALL, 4);
        dirty(DATA, 4096);
        sendPfns(0, 0xffff_ffffL, pfn(MEMORY), pfn(MEMORY) + 1);
        sendPfns(0, pfn(DATA));
        assertThat(memory.readLong(GuestAddress.of(DATA))).isZero();
    }

    @Test
    void reportedFreePagesGoBackToTheHost() throws Exception {
        start(ALL, 4);
        long range = 2L << 20;
        dirty(DATA, range);
        long residentBefore = memory.residentBytes();
        MockDriver reporting = drivers.get(3);
        reporting.descriptor(0, DATA, (int) range, VirtQueue.DESC_F_WRITE, 0);
        reporting.publish(0);
        notifiers.get(3).write(1);
        assertThat(awaitUsed(3).head()).isZero();
        assertThat(balloon.reportedBytes()).isEqualTo(range);
        assertThat(residentBefore - memory.residentBytes()).isGreaterThanOrEqualTo(range);
        assertThat(memory.readLong(GuestAddress.of(DATA + range - 8))).isZero();
    }

    @Test
    void reportsOutsideGuestMemoryAreIgnored() throws Exception {
        start(ALL, 4);
        MockDriver reporting = drivers.get(3);
        reporting.descriptor(0, MEMORY - 4096, 1 << 20, VirtQueue.DESC_F_WRITE, 0);
        reporting.publish(0);
        reporting.descriptor(1, -4096L, 8192, VirtQueue.DESC_F_WRITE, 0);
        reporting.publish(1);
        notifiers.get(3).write(1);
        assertThat(awaitUsed(3).head()).isZero();
        assertThat(awaitUsed(3).head()).isEqualTo(1);
        assertThat(balloon.reportedBytes()).isZero();
    }

    @Test
    void reportingQueueTakesTheStatsQueuesPlaceWhenStatsAreNotNegotiated() throws Exception {
        start(VirtioFeatures.VERSION_1 | VirtioBalloon.F_PAGE_REPORTING, 3);
        dirty(DATA, 4096);
        MockDriver reporting = drivers.get(2);
        reporting.descriptor(0, DATA, 4096, VirtQueue.DESC_F_WRITE, 0);
        reporting.publish(0);
        notifiers.get(2).write(1);
        awaitUsed(2);
        assertThat(balloon.reportedBytes()).isEqualTo(4096);
        assertThat(balloon.stats()).isEmpty();
    }

    @Test
    void statsAreParsedAndAskedForAgainAtTheInterval() throws Exception {
        start(ALL, 4);
        MockDriver stats = drivers.get(2);
        long buffer = stats.allocate(6 * VirtioBalloon.STAT_SIZE);
        writeStats(buffer, 1);
        stats.descriptor(0, buffer, 6 * VirtioBalloon.STAT_SIZE, 0, 0);
        stats.publish(0);
        notifiers.get(2).write(1);
        await(() -> balloon.stats().isPresent(), "stats");
        VirtioBalloon.MemoryStats s = balloon.stats().orElseThrow();
        assertThat(s.free()).isEqualTo(1L << 20);
        assertThat(s.total()).isEqualTo(MEMORY);
        assertThat(s.available()).isEqualTo(3L << 20);
        assertThat(s.majorFaults()).isEqualTo(7);
        assertThat(s.swapIn()).isEqualTo(0);

        // The poller hands the buffer back; the driver refills it with new figures.
        assertThat(awaitUsed(2).head()).isZero();
        writeStats(buffer, 2);
        stats.publish(0);
        notifiers.get(2).write(1);
        await(() -> balloon.stats().orElseThrow().free() == 2L << 20, "fresh stats");
    }

    @Test
    void unknownStatTagsAndShortBuffersAreHarmless() throws Exception {
        start(ALL, 4);
        MockDriver stats = drivers.get(2);
        long buffer = stats.allocate(32);
        ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xbeef).putLong(-1);
        b.putShort((short) 4).putLong(4096);
        b.put(new byte[] {1, 2, 3}); // a torn third entry
        memory.write(GuestAddress.of(buffer), b.array());
        stats.descriptor(0, buffer, 23, 0, 0);
        stats.publish(0);
        notifiers.get(2).write(1);
        await(() -> balloon.stats().isPresent(), "stats");
        assertThat(balloon.stats().orElseThrow().free()).isEqualTo(4096);
    }

    @Test
    void pauseReturnsTheHeldStatsBufferSoARestoredDeviceIsNotStuck() throws Exception {
        balloon.setStatsInterval(Duration.ofHours(1));
        start(ALL, 4);
        MockDriver stats = drivers.get(2);
        long buffer = stats.allocate(6 * VirtioBalloon.STAT_SIZE);
        writeStats(buffer, 1);
        stats.descriptor(0, buffer, 6 * VirtioBalloon.STAT_SIZE, 0, 0);
        stats.publish(0);
        notifiers.get(2).write(1);
        await(() -> balloon.stats().isPresent(), "stats");
        assertThat(stats.takeUsed()).isNull();
        balloon.pause();
        assertThat(stats.takeUsed()).isNotNull();
        balloon.setTarget(4L << 20);
        byte[] state = balloon.saveState();
        VirtioBalloon restored = new VirtioBalloon("restored", MEMORY, Duration.ofSeconds(5));
        restored.restoreState(state);
        assertThat(restored.targetBytes()).isEqualTo(4L << 20);
        balloon.resume();
    }

    private void writeStats(long at, int scale) {
        ByteBuffer b = ByteBuffer.allocate(6 * VirtioBalloon.STAT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0).putLong(0);
        b.putShort((short) 2).putLong(7);
        b.putShort((short) 4).putLong((long) scale << 20);
        b.putShort((short) 5).putLong(MEMORY);
        b.putShort((short) 6).putLong(3L << 20);
        b.putShort((short) 7).putLong(1L << 20);
        memory.write(GuestAddress.of(at), b.array());
    }
}
