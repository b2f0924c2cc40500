package io.stratus.kvm.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.virtio.MockDriver;
import io.stratus.kvm.virtio.VirtQueue;
import io.stratus.kvm.virtio.VirtioFeatures;
import io.stratus.kvm.virtio.VirtioInterrupt;
import io.stratus.kvm.virtio.VirtioMmioTransport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** virtio-blk through its MMIO transport, driven by a driver written against guest memory (no KVM). */
@Timeout(60)
class VirtioBlockTest {
    private static final int QSIZE = 16;

    @TempDir
    Path dir;
    private GuestMemory memory;
    private Path image;
    private final AtomicInteger interrupts = new AtomicInteger();
    private VirtioMmioTransport transport;
    private DiskImage disk;

    @BeforeEach
    void setUp() throws IOException {
        memory = GuestMemory.x86(32L << 20, false);
        image = dir.resolve("disk.img");
        byte[] content = new byte[1 << 20];
        byte[] marker = "HOST-SECTOR-0".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(marker, 0, content, 0, marker.length);
        Files.write(image, content);
    }

    @AfterEach
    void tearDown() {
        if (transport != null) {
            transport.close();
        }
        if (disk != null) {
            disk.close();
        }
        memory.close();
    }

    private void attach(boolean readOnly, int queues) {
        attach(image, readOnly, queues);
    }

    private void attach(Path file, boolean readOnly, int queues) {
        disk = DiskImage.open(file, readOnly);
        transport = new VirtioMmioTransport(new VirtioBlock("vda", disk, "serial-123", queues), memory,
                new VirtioInterrupt(interrupts::incrementAndGet));
    }

    private int reg(int offset) {
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        transport.read(offset, b);
        return b.getInt(0);
    }

    private void reg(int offset, int value) {
        transport.write(offset, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value));
    }

    /** Negotiates VERSION_1 plus {@code extra}, sets up {@code drivers.length} queues, starts the device. */
    private void start(long extra, MockDriver... drivers) {
        reg(VirtioMmioTransport.STATUS, 0);
        reg(VirtioMmioTransport.STATUS, 3);
        long features = VirtioFeatures.VERSION_1 | extra;
        reg(VirtioMmioTransport.DRIVER_FEATURES_SEL, 0);
        reg(VirtioMmioTransport.DRIVER_FEATURES, (int) features);
        reg(VirtioMmioTransport.DRIVER_FEATURES_SEL, 1);
        reg(VirtioMmioTransport.DRIVER_FEATURES, (int) (features >>> 32));
        reg(VirtioMmioTransport.STATUS, 0xb);
        assertThat(reg(VirtioMmioTransport.STATUS) & 8).as("FEATURES_OK accepted").isEqualTo(8);
        for (int q = 0; q < drivers.length; q++) {
            long base = 0x100000L * (q + 1);
            reg(VirtioMmioTransport.QUEUE_SEL, q);
            reg(VirtioMmioTransport.QUEUE_NUM, QSIZE);
            reg(VirtioMmioTransport.QUEUE_DESC_LOW, (int) (base + MockDriver.DESC));
            reg(VirtioMmioTransport.QUEUE_DRIVER_LOW, (int) (base + MockDriver.AVAIL));
            reg(VirtioMmioTransport.QUEUE_DEVICE_LOW, (int) (base + MockDriver.USED));
            reg(VirtioMmioTransport.QUEUE_READY, 1);
        }
        reg(VirtioMmioTransport.STATUS, 0xf);
    }

    private MockDriver driver(int queue) {
        return new MockDriver(memory, QSIZE, 0x100000L * (queue + 1));
    }

    private void notify(int queue) {
        reg(VirtioMmioTransport.QUEUE_NOTIFY, queue);
    }

    private static MockDriver.Used await(MockDriver d) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            MockDriver.Used u = d.takeUsed();
            if (u != null) {
                return u;
            }
            Thread.sleep(1);
        }
        throw new AssertionError("no used buffer");
    }

    /** A request: header, optional data, status byte; returns the status address. */
    private long request(MockDriver d, int type, long sector, long data, int length, boolean deviceWrites) {
        long header = d.allocate(16);
        memory.writeInt(GuestAddress.of(header), type);
        memory.writeInt(GuestAddress.of(header + 4), 0);
        memory.writeLong(GuestAddress.of(header + 8), sector);
        long status = d.allocate(1);
        memory.writeByte(GuestAddress.of(status), (byte) 0x55);
        if (length > 0) {
            d.descriptor(0, header, 16, VirtQueue.DESC_F_NEXT, 1);
            d.descriptor(1, data, length, VirtQueue.DESC_F_NEXT | (deviceWrites ? VirtQueue.DESC_F_WRITE : 0), 2);
            d.descriptor(2, status, 1, VirtQueue.DESC_F_WRITE, 0);
        } else {
            d.descriptor(0, header, 16, VirtQueue.DESC_F_NEXT, 1);
            d.descriptor(1, status, 1, VirtQueue.DESC_F_WRITE, 0);
        }
        d.publish(0);
        return status;
    }

    private byte status(long address) {
        return memory.readByte(GuestAddress.of(address));
    }

    @Test
    void presentsItselfAsVirtioBlockWithCapacityAndFeatures() {
        attach(false, 2);
        assertThat(reg(VirtioMmioTransport.MAGIC_VALUE)).isEqualTo(0x74726976);
        assertThat(reg(VirtioMmioTransport.VERSION)).isEqualTo(2);
        assertThat(reg(VirtioMmioTransport.DEVICE_ID)).isEqualTo(2);
        reg(VirtioMmioTransport.DEVICE_FEATURES_SEL, 1);
        assertThat(reg(VirtioMmioTransport.DEVICE_FEATURES) & 1).as("VERSION_1").isEqualTo(1);
        reg(VirtioMmioTransport.DEVICE_FEATURES_SEL, 0);
        int low = reg(VirtioMmioTransport.DEVICE_FEATURES);
        assertThat(low & (int) VirtioBlock.F_FLUSH).isNotZero();
        assertThat(low & (int) VirtioBlock.F_MQ).isNotZero();
        assertThat(low & (int) VirtioBlock.F_RO).isZero();
        assertThat(reg(VirtioMmioTransport.CONFIG)).as("capacity in sectors").isEqualTo(2048);
        ByteBuffer queues = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN);
        transport.read(VirtioMmioTransport.CONFIG + 34, queues);
        assertThat(queues.getShort(0)).isEqualTo((short) 2);
        reg(VirtioMmioTransport.QUEUE_SEL, 0);
        assertThat(reg(VirtioMmioTransport.QUEUE_NUM_MAX)).isEqualTo(VirtioBlock.QUEUE_SIZE);
        reg(VirtioMmioTransport.QUEUE_SEL, 2);
        assertThat(reg(VirtioMmioTransport.QUEUE_NUM_MAX)).as("no third queue").isZero();
    }

    @Test
    void refusesFeatureSetsWithoutVersion1OrBeyondTheOffer() {
        attach(true, 1);
        reg(VirtioMmioTransport.STATUS, 3);
        reg(VirtioMmioTransport.DRIVER_FEATURES_SEL, 0);
        reg(VirtioMmioTransport.DRIVER_FEATURES, (int) VirtioBlock.F_FLUSH);
        reg(VirtioMmioTransport.STATUS, 0xb);
        assertThat(reg(VirtioMmioTransport.STATUS) & 8).isZero();
        reg(VirtioMmioTransport.STATUS, 0);
        reg(VirtioMmioTransport.STATUS, 3);
        reg(VirtioMmioTransport.DRIVER_FEATURES_SEL, 0);
        reg(VirtioMmioTransport.DRIVER_FEATURES, (int) VirtioBlock.F_DISCARD);
        reg(VirtioMmioTransport.DRIVER_FEATURES_SEL, 1);
        reg(VirtioMmioTransport.DRIVER_FEATURES, 1);
        reg(VirtioMmioTransport.STATUS, 0xb);
        assertThat(reg(VirtioMmioTransport.STATUS) & 8).as("DISCARD is not offered on a read-only disk").isZero();
    }

    @Test
    void pagesTheDeviceWritesAreTrackedForMigration() throws Exception {
        attach(false, 1);
        MockDriver d = driver(0);
        start(0, d);
        // KVM's dirty log never sees the VMM's writes: guest RAM must record them itself. (The
        // device may take the request as soon as it is published, so tracking starts first.)
        memory.startWriteTracking();
        long buf = d.allocate(3 * 4096);
        long s = request(d, VirtioBlock.T_IN, 0, buf, 3 * 4096, true);
        notify(0);
        await(d);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_OK);
        io.stratus.kvm.memory.DirtyPages written = memory.takeWrittenPages();
        for (long page = buf / 4096; page <= (buf + 3 * 4096 - 1) / 4096; page++) {
            assertThat(written.contains(page)).as("data page %d (preadv into guest RAM)", page).isTrue();
        }
        assertThat(written.contains((0x100000L + MockDriver.USED) / 4096)).as("used ring").isTrue();
        assertThat(written.contains(1000)).as("a page nobody wrote").isFalse();
        memory.stopWriteTracking();
    }

    @Test
    void readsWritesFlushesAndReportsTheId() throws Exception {
        attach(false, 1);
        MockDriver d = driver(0);
        start(VirtioBlock.F_FLUSH, d);
        long buf = d.allocate(512);
        long s = request(d, VirtioBlock.T_IN, 0, buf, 512, true);
        notify(0);
        assertThat(await(d).length()).isEqualTo(513);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_OK);
        byte[] got = new byte[13];
        memory.read(GuestAddress.of(buf), got);
        assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo("HOST-SECTOR-0");

        byte[] pattern = new byte[1024];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (byte) (i * 31);
        }
        long w = d.allocate(1024);
        memory.write(GuestAddress.of(w), pattern);
        s = request(d, VirtioBlock.T_OUT, 8, w, 1024, false);
        notify(0);
        assertThat(await(d).length()).isEqualTo(1);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_OK);
        s = request(d, VirtioBlock.T_FLUSH, 0, 0, 0, false);
        notify(0);
        await(d);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_OK);
        byte[] onDisk = new byte[1024];
        ByteBuffer.wrap(Files.readAllBytes(image)).get(8 * 512, onDisk);
        assertThat(onDisk).isEqualTo(pattern);

        long id = d.allocate(20);
        s = request(d, VirtioBlock.T_GET_ID, 0, id, 20, true);
        notify(0);
        assertThat(await(d).length()).isEqualTo(21);
        byte[] serial = new byte[10];
        memory.read(GuestAddress.of(id), serial);
        assertThat(new String(serial, StandardCharsets.US_ASCII)).isEqualTo("serial-123");
        assertThat(interrupts.get()).isPositive();
        assertThat(((VirtioBlock) transport.device()).metrics().writeBytes()).isEqualTo(1024);
    }

    @Test
    void qcow2OverlayTakesEveryWriteAndLeavesItsBaseUnchanged() throws Exception {
        byte[] base = Files.readAllBytes(image);
        Path overlay = dir.resolve("overlay.qcow2");
        Qcow2Image.create(overlay, image, 2L << 20);
        attach(overlay, false, 2);
        assertThat(reg(VirtioMmioTransport.CONFIG)).as("capacity in sectors: the overlay's, past the base")
                .isEqualTo(4096);
        MockDriver d = driver(0);
        start(VirtioBlock.F_FLUSH | VirtioBlock.F_DISCARD | VirtioBlock.F_MQ, d, driver(1));
        long buf = d.allocate(512);
        long s = request(d, VirtioBlock.T_IN, 0, buf, 512, true);
        notify(0);
        assertThat(await(d).length()).isEqualTo(513);
        byte[] got = new byte[13];
        memory.read(GuestAddress.of(buf), got);
        assertThat(new String(got, StandardCharsets.US_ASCII)).as("read through to the base").isEqualTo("HOST-SECTOR-0");

        byte[] pattern = new byte[1024];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (byte) (i * 7 + 1);
        }
        long w = d.allocate(1024);
        memory.write(GuestAddress.of(w), pattern);
        for (long sector : new long[] {8, 3000}) {
            s = request(d, VirtioBlock.T_OUT, sector, w, 1024, false);
            notify(0);
            await(d);
            assertThat(status(s)).isEqualTo(VirtioBlock.S_OK);
        }
        long seg = d.allocate(16);
        memory.writeLong(GuestAddress.of(seg), 0);
        memory.writeInt(GuestAddress.of(seg + 8), 8);
        s = request(d, VirtioBlock.T_DISCARD, 0, seg, 16, false);
        notify(0);
        await(d);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_OK);
        s = request(d, VirtioBlock.T_FLUSH, 0, 0, 0, false);
        notify(0);
        await(d);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_OK);
        s = request(d, VirtioBlock.T_IN, 4095, buf, 512, true);
        notify(0);
        await(d);
        assertThat(status(s)).as("the last sector, past the base").isEqualTo(VirtioBlock.S_OK);
        transport.close();
        transport = null;
        disk.close();
        disk = null;

        assertThat(Files.readAllBytes(image)).as("the base, byte for byte").isEqualTo(base);
        try (DiskImage reopened = DiskImage.open(overlay, true)) {
            byte[] expected = java.util.Arrays.copyOf(base, 2 << 20);
            java.util.Arrays.fill(expected, 0, 4096, (byte) 0);
            System.arraycopy(pattern, 0, expected, 8 * 512, 1024);
            System.arraycopy(pattern, 0, expected, 3000 * 512, 1024);
            assertThat(Qcow2ImageTest.readAll(reopened)).isEqualTo(expected);
        }
    }

    @Test
    void failsRequestsBeyondTheDiskAndUnknownTypesButServesTheNext() throws Exception {
        attach(false, 1);
        MockDriver d = driver(0);
        start(0, d);
        long buf = d.allocate(512);
        long s = request(d, VirtioBlock.T_IN, 2048, buf, 512, true);
        notify(0);
        await(d);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_IOERR);
        s = request(d, VirtioBlock.T_IN, Long.MAX_VALUE / 256, buf, 512, true);
        notify(0);
        await(d);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_IOERR);
        s = request(d, 77, 0, 0, 0, false);
        notify(0);
        await(d);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_UNSUPP);
        s = request(d, VirtioBlock.T_IN, 2047, buf, 512, true);
        notify(0);
        await(d);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_OK);
    }

    @Test
    void readOnlyDiskRefusesWritesAndDiscards() throws Exception {
        attach(true, 1);
        MockDriver d = driver(0);
        start(VirtioBlock.F_RO, d);
        long buf = d.allocate(512);
        long s = request(d, VirtioBlock.T_OUT, 0, buf, 512, false);
        notify(0);
        await(d);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_IOERR);
        assertThat(new String(Files.readAllBytes(image), 0, 13, StandardCharsets.US_ASCII)).isEqualTo("HOST-SECTOR-0");
    }

    @Test
    void discardZeroesTheRange() throws Exception {
        attach(false, 1);
        MockDriver d = driver(0);
        start(VirtioBlock.F_DISCARD, d);
        long seg = d.allocate(16);
        memory.writeLong(GuestAddress.of(seg), 0);
        memory.writeInt(GuestAddress.of(seg + 8), 8);
        long s = request(d, VirtioBlock.T_DISCARD, 0, seg, 16, false);
        notify(0);
        await(d);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_OK);
        assertThat(Files.readAllBytes(image)[0]).isZero();
    }

    @Test
    void malformedChainFailsAloneAndTheQueueGoesOn() throws Exception {
        attach(false, 1);
        MockDriver d = driver(0);
        start(0, d);
        d.descriptor(0, d.allocate(16), 16, VirtQueue.DESC_F_NEXT, 0);
        d.publish(0);
        notify(0);
        assertThat(await(d)).isEqualTo(new MockDriver.Used(0, 0));
        long buf = d.allocate(512);
        long s = request(d, VirtioBlock.T_IN, 0, buf, 512, true);
        notify(0);
        assertThat(await(d).length()).isEqualTo(513);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_OK);
        assertThat(((VirtioBlock) transport.device()).metrics().invalidChains()).isEqualTo(1);
        assertThat(reg(VirtioMmioTransport.STATUS) & VirtioMmioTransport.STATUS_DEVICE_NEEDS_RESET).isZero();
    }

    @Test
    void brokenQueueNeedsResetWhileTheOtherQueueWorks() throws Exception {
        attach(false, 2);
        MockDriver q0 = driver(0);
        MockDriver q1 = driver(1);
        start(0, q0, q1);
        q0.setAvailIndex(500);
        notify(0);
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (((reg(VirtioMmioTransport.STATUS) & VirtioMmioTransport.STATUS_DEVICE_NEEDS_RESET) == 0
                || (reg(VirtioMmioTransport.INTERRUPT_STATUS) & VirtioInterrupt.CONFIG_CHANGE) == 0)
                && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(reg(VirtioMmioTransport.STATUS) & VirtioMmioTransport.STATUS_DEVICE_NEEDS_RESET).isNotZero();
        assertThat(reg(VirtioMmioTransport.INTERRUPT_STATUS) & VirtioInterrupt.CONFIG_CHANGE).isNotZero();
        long buf = q1.allocate(512);
        long s = request(q1, VirtioBlock.T_IN, 0, buf, 512, true);
        notify(1);
        await(q1);
        assertThat(status(s)).isEqualTo(VirtioBlock.S_OK);
        // A reset clears the condition and the device can be started again.
        reg(VirtioMmioTransport.STATUS, 0);
        assertThat(reg(VirtioMmioTransport.STATUS)).isZero();
    }

    @Test
    void invalidRingsAtDriverOkMarkTheDeviceNeedingReset() {
        attach(false, 1);
        reg(VirtioMmioTransport.STATUS, 3);
        reg(VirtioMmioTransport.DRIVER_FEATURES_SEL, 1);
        reg(VirtioMmioTransport.DRIVER_FEATURES, 1);
        reg(VirtioMmioTransport.STATUS, 0xb);
        reg(VirtioMmioTransport.QUEUE_SEL, 0);
        reg(VirtioMmioTransport.QUEUE_NUM, 16);
        reg(VirtioMmioTransport.QUEUE_DESC_LOW, 0xd0000000);
        reg(VirtioMmioTransport.QUEUE_READY, 1);
        reg(VirtioMmioTransport.STATUS, 0xf);
        assertThat(reg(VirtioMmioTransport.STATUS) & VirtioMmioTransport.STATUS_DEVICE_NEEDS_RESET).isNotZero();
    }

    @Test
    void queueSettingsAreFrozenOnceTheDeviceRuns() {
        attach(false, 1);
        MockDriver d = driver(0);
        start(0, d);
        reg(VirtioMmioTransport.QUEUE_SEL, 0);
        reg(VirtioMmioTransport.QUEUE_DESC_LOW, 0x1234000);
        assertThat(transport.queues().get(0).descriptorTable()).isEqualTo(0x100000L + MockDriver.DESC);
    }

    @Test
    void aDiskIsWrittenByOneGuestAtATime() {
        attach(false, 1);
        assertThatThrownBy(() -> DiskImage.open(image, false)).isInstanceOf(DiskImageException.class)
                .hasMessageContaining("in use by another guest");
        assertThatThrownBy(() -> DiskImage.open(image, true)).isInstanceOf(DiskImageException.class)
                .hasMessageContaining("in use by another guest");
    }

    @Test
    void readOnlyDisksCanBeShared() {
        attach(true, 1);
        DiskImage second = DiskImage.open(image, true);
        second.close();
        assertThatThrownBy(() -> DiskImage.open(image, false)).isInstanceOf(DiskImageException.class);
    }

    @Test
    void missingOrUnusableImagesAreClearErrors() throws IOException {
        assertThatThrownBy(() -> DiskImage.open(dir.resolve("nope.img"), false)).isInstanceOf(DiskImageException.class)
                .hasMessageContaining("does not exist");
        assertThatThrownBy(() -> DiskImage.open(dir, false)).isInstanceOf(DiskImageException.class)
                .hasMessageContaining("is a directory");
        Path tiny = dir.resolve("tiny.img");
        Files.write(tiny, new byte[100]);
        assertThatThrownBy(() -> DiskImage.open(tiny, false)).isInstanceOf(DiskImageException.class)
                .hasMessageContaining("smaller than one 512-byte sector");
    }
}
