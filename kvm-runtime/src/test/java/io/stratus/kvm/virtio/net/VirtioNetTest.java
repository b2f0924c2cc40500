package io.stratus.kvm.virtio.net;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.sys.EventFd;
import io.stratus.kvm.sys.PacketChannel;
import io.stratus.kvm.virtio.MockDriver;
import io.stratus.kvm.virtio.VirtQueue;
import io.stratus.kvm.virtio.VirtioFeatures;
import io.stratus.kvm.virtio.VirtioInterrupt;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** virtio-net against a SOCK_SEQPACKET pair in place of the TAP, driven by a mock driver (no KVM). */
@Timeout(30)
class VirtioNetTest {
    private static final int QSIZE = 16;
    private final GuestMemory memory = GuestMemory.x86(32L << 20, false);
    private final PacketChannel[] pair = PacketChannel.socketPair();
    private final AtomicInteger interrupts = new AtomicInteger();
    private final VirtioNet net = new VirtioNet("eth0", pair[0], new byte[] {0x52, 0x54, 0, 1, 2, 3});
    private final MockDriver rx = new MockDriver(memory, QSIZE, 0x100000);
    private final MockDriver tx = new MockDriver(memory, QSIZE, 0x200000);
    private final EventFd rxNotify = EventFd.create(false);
    private final EventFd txNotify = EventFd.create(false);

    @AfterEach
    void tearDown() {
        net.reset();
        net.close();
        pair[1].close();
        rxNotify.close();
        txNotify.close();
        memory.close();
    }

    private void start(long features) {
        VirtQueue rxq = rx.configure(new VirtQueue(VirtioNet.QUEUE_SIZE));
        VirtQueue txq = tx.configure(new VirtQueue(VirtioNet.QUEUE_SIZE));
        rxq.setSize(QSIZE);
        txq.setSize(QSIZE);
        net.activate(memory, VirtioFeatures.VERSION_1 | features, List.of(rxq, txq), List.of(rxNotify, txNotify),
                new VirtioInterrupt(interrupts::incrementAndGet), () -> { });
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

    private byte[] receiveOnHost() throws Exception {
        Memory buf = new Memory(70000);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            int n = pair[1].read(buf, 70000);
            if (n >= 0) {
                return buf.getByteArray(0, n);
            }
            Thread.sleep(1);
        }
        throw new AssertionError("no frame from the device");
    }

    private void sendFromHost(byte[] frame) throws Exception {
        Memory buf = new Memory(frame.length);
        buf.write(0, frame, 0, frame.length);
        assertThat(pair[1].write(new long[] {Pointer.nativeValue(buf)}, new long[] {frame.length}, 1, 1000)).isTrue();
    }

    private static byte[] frame(int payload) {
        byte[] f = new byte[VirtioNet.HEADER_SIZE + payload];
        for (int i = VirtioNet.HEADER_SIZE; i < f.length; i++) {
            f[i] = (byte) (i * 7);
        }
        return f;
    }

    @Test
    void offersMacAndLinkUp() {
        java.nio.ByteBuffer config = java.nio.ByteBuffer.allocate(8);
        net.readConfig(0, config);
        assertThat(config.array()).startsWith(0x52, 0x54, 0, 1, 2, 3);
        assertThat(config.get(6)).isEqualTo((byte) 1);
    }

    @Test
    void transmitsTheGuestsFrameAsItIs() throws Exception {
        start(0);
        byte[] f = frame(100);
        long header = tx.allocate(VirtioNet.HEADER_SIZE);
        long body = tx.allocate(100);
        memory.write(GuestAddress.of(header), java.util.Arrays.copyOf(f, VirtioNet.HEADER_SIZE));
        memory.write(GuestAddress.of(body), java.util.Arrays.copyOfRange(f, VirtioNet.HEADER_SIZE, f.length));
        tx.descriptor(0, header, VirtioNet.HEADER_SIZE, VirtQueue.DESC_F_NEXT, 1);
        tx.descriptor(1, body, 100, 0, 0);
        tx.publish(0);
        txNotify.write(1);
        assertThat(receiveOnHost()).isEqualTo(f);
        assertThat(await(tx).head()).isZero();
        assertThat(net.metrics().txPackets()).isEqualTo(1);
        assertThat(net.metrics().txBytes()).isEqualTo(100);
    }

    @Test
    void receivesIntoOneBufferWithNumBuffersOne() throws Exception {
        start(0);
        long buf = rx.allocate(2048);
        rx.descriptor(0, buf, 2048, VirtQueue.DESC_F_WRITE, 0);
        rx.publish(0);
        byte[] f = frame(300);
        sendFromHost(f);
        MockDriver.Used used = await(rx);
        assertThat(used.length()).isEqualTo(f.length);
        byte[] got = new byte[f.length];
        memory.read(GuestAddress.of(buf), got);
        assertThat(java.util.Arrays.copyOfRange(got, VirtioNet.HEADER_SIZE, got.length))
                .isEqualTo(java.util.Arrays.copyOfRange(f, VirtioNet.HEADER_SIZE, f.length));
        assertThat(memory.readShort(GuestAddress.of(buf + 10))).as("num_buffers").isEqualTo((short) 1);
        assertThat(interrupts.get()).isPositive();
    }

    @Test
    void spreadsABigFrameOverMergeableBuffersAndWaitsForBuffers() throws Exception {
        start(VirtioNet.F_MRG_RXBUF);
        byte[] f = frame(5000);
        sendFromHost(f);
        Thread.sleep(100);
        assertThat(rx.takeUsed()).as("no buffers yet: the frame waits").isNull();
        long[] bufs = new long[3];
        for (int i = 0; i < 3; i++) {
            bufs[i] = rx.allocate(2048);
            rx.descriptor(i, bufs[i], 2048, VirtQueue.DESC_F_WRITE, 0);
            rx.publish(i);
        }
        rxNotify.write(1);
        MockDriver.Used a = await(rx);
        MockDriver.Used b = await(rx);
        MockDriver.Used c = await(rx);
        assertThat(a.length() + b.length() + c.length()).isEqualTo(f.length);
        assertThat(memory.readShort(GuestAddress.of(bufs[0] + 10))).as("num_buffers").isEqualTo((short) 3);
        byte[] tail = new byte[c.length()];
        memory.read(GuestAddress.of(bufs[2]), tail);
        assertThat(tail).isEqualTo(java.util.Arrays.copyOfRange(f, f.length - c.length(), f.length));
        assertThat(net.metrics().rxPackets()).isEqualTo(1);
    }

    @Test
    void malformedTransmitChainFailsAloneAndTheNextFrameGoes() throws Exception {
        start(0);
        tx.descriptor(0, 0xd000_0000L, 64, 0, 0);
        tx.publish(0);
        txNotify.write(1);
        assertThat(await(tx)).isEqualTo(new MockDriver.Used(0, 0));
        byte[] f = frame(60);
        long buf = tx.allocate(f.length);
        memory.write(GuestAddress.of(buf), f);
        tx.descriptor(1, buf, f.length, 0, 0);
        tx.publish(1);
        txNotify.write(1);
        assertThat(receiveOnHost()).isEqualTo(f);
        assertThat(net.metrics().invalidChains()).isEqualTo(1);
    }
}
