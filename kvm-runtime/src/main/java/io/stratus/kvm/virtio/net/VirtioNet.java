package io.stratus.kvm.virtio.net;

import com.sun.jna.Memory;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.sys.EventFd;
import io.stratus.kvm.sys.PacketChannel;
import io.stratus.kvm.virtio.Descriptor;
import io.stratus.kvm.virtio.DescriptorChain;
import io.stratus.kvm.virtio.GuestSegments;
import io.stratus.kvm.virtio.QueueWorker;
import io.stratus.kvm.virtio.VirtQueue;
import io.stratus.kvm.virtio.VirtQueueException;
import io.stratus.kvm.virtio.VirtioDevice;
import io.stratus.kvm.virtio.VirtioFeatures;
import io.stratus.kvm.virtio.VirtioInterrupt;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * virtio-net over a TAP device (virtio 1.2, section 5.1): one receive and one transmit queue,
 * each served by its own thread, checksum and TSO offloads passed through to the TAP, mergeable
 * receive buffers, MAC address and link status.
 *
 * <p>Transmitted frames go from guest RAM to the TAP in one writev, without a copy; a received
 * frame is read from the TAP into a host buffer and copied into as many guest buffers as it needs
 * (the VMM cannot know a frame's size before reading it).
 */
public final class VirtioNet implements VirtioDevice {
    public static final int DEVICE_TYPE = 1;
    public static final int QUEUE_SIZE = 256;
    /** virtio_net_hdr_v1: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers. */
    public static final int HEADER_SIZE = 12;
    /** A 64 KiB GSO frame, its Ethernet header and the virtio-net header. */
    static final int MAX_FRAME = 65536 + 14 + 4 + HEADER_SIZE;

    static final long F_CSUM = 1L;
    static final long F_GUEST_CSUM = 1L << 1;
    static final long F_MAC = 1L << 5;
    static final long F_GUEST_TSO4 = 1L << 7;
    static final long F_GUEST_TSO6 = 1L << 8;
    static final long F_GUEST_ECN = 1L << 9;
    static final long F_HOST_TSO4 = 1L << 11;
    static final long F_HOST_TSO6 = 1L << 12;
    static final long F_HOST_ECN = 1L << 13;
    static final long F_MRG_RXBUF = 1L << 15;
    static final long F_STATUS = 1L << 16;
    static final int STATUS_LINK_UP = 1;
    static final int RX = 0;
    static final int TX = 1;

    private static final System.Logger LOG = System.getLogger(VirtioNet.class.getName());

    private final String name;
    private final PacketChannel tap;
    private final byte[] mac;
    private final NetMetrics metrics = new NetMetrics();
    private final Memory frame = new Memory(MAX_FRAME);
    private GuestMemory memory;
    private VirtQueue rxQueue;
    private VirtQueue txQueue;
    private EventFd rxNotifier;
    private EventFd txNotifier;
    private VirtioInterrupt interrupt;
    private Runnable needsReset;
    private boolean mergeable;
    private QueueWorker txWorker;
    private Thread rxThread;
    private volatile boolean rxRunning;
    /** Length of a frame read from the TAP that still waits for guest buffers, or -1. */
    private int pendingFrame = -1;

    /** @param mac six bytes, a unicast address */
    public VirtioNet(String name, PacketChannel tap, byte[] mac) {
        if (mac.length != 6 || (mac[0] & 1) != 0) {
            throw new IllegalArgumentException("MAC address must be six bytes and unicast");
        }
        this.name = name;
        this.tap = tap;
        this.mac = mac.clone();
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long offeredFeatures() {
        return VirtioFeatures.VERSION_1 | VirtioFeatures.RING_EVENT_IDX | VirtioFeatures.RING_INDIRECT_DESC
                | F_CSUM | F_GUEST_CSUM | F_MAC | F_GUEST_TSO4 | F_GUEST_TSO6 | F_GUEST_ECN | F_HOST_TSO4
                | F_HOST_TSO6 | F_HOST_ECN | F_MRG_RXBUF | F_STATUS;
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public int queueMaxSize() {
        return QUEUE_SIZE;
    }

    public NetMetrics.Snapshot metrics() {
        return metrics.snapshot();
    }

    @Override
    public void readConfig(long offset, ByteBuffer data) {
        byte[] config = {mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], (byte) STATUS_LINK_UP, 0};
        VirtioDevice.readConfigBytes(config, offset, data);
    }

    @Override
    public void writeConfig(long offset, ByteBuffer data) {
        // The MAC is not writable (no VIRTIO_NET_F_CTRL_MAC_ADDR).
    }

    @Override
    public synchronized void activate(GuestMemory guestMemory, long ackedFeatures, List<VirtQueue> queues,
                                      List<EventFd> notifiers, VirtioInterrupt irq, Runnable reset) {
        this.memory = guestMemory;
        this.rxQueue = queues.get(RX);
        this.txQueue = queues.get(TX);
        this.rxNotifier = notifiers.get(RX);
        this.txNotifier = notifiers.get(TX);
        this.interrupt = irq;
        this.needsReset = reset;
        this.mergeable = (ackedFeatures & F_MRG_RXBUF) != 0;
        int offload = 0;
        if ((ackedFeatures & F_GUEST_CSUM) != 0) {
            offload |= PacketChannel.TUN_F_CSUM;
            // TSO needs checksum offload: the TAP hands over frames whose checksums the guest finishes.
            if ((ackedFeatures & F_GUEST_TSO4) != 0) {
                offload |= PacketChannel.TUN_F_TSO4;
            }
            if ((ackedFeatures & F_GUEST_TSO6) != 0) {
                offload |= PacketChannel.TUN_F_TSO6;
            }
            if ((ackedFeatures & F_GUEST_ECN) != 0) {
                offload |= PacketChannel.TUN_F_TSO_ECN;
            }
        }
        tap.setOffload(offload);
        startThreads();
    }

    private void startThreads() {
        if (rxQueue == null) {
            return;
        }
        if (txQueue.isReady()) {
            txWorker = QueueWorker.start(name + "-tx", txNotifier, this::transmit);
        }
        if (rxQueue.isReady()) {
            rxRunning = true;
            rxThread = new Thread(this::receiveLoop, name + "-rx");
            rxThread.setDaemon(true);
            rxThread.start();
        }
    }

    private void stopThreads() {
        if (txWorker != null) {
            txWorker.stop();
            txWorker = null;
        }
        if (rxThread != null) {
            rxRunning = false;
            rxNotifier.write(1);
            QueueWorker.joinUninterruptibly(rxThread);
            rxThread = null;
        }
    }

    @Override
    public synchronized void reset() {
        stopThreads();
        rxQueue = null;
        txQueue = null;
        pendingFrame = -1;
    }

    @Override
    public synchronized void pause() {
        stopThreads();
    }

    @Override
    public synchronized void resume() {
        if (txWorker == null && rxThread == null) {
            startThreads();
        }
    }

    /** TX worker: every available chain is a frame, sent to the TAP from guest RAM. */
    private void transmit() {
        try {
            do {
                int usedBefore = txQueue.nextUsed();
                DescriptorChain chain;
                while ((chain = nextChain(txQueue)) != null) {
                    send(chain);
                    txQueue.addUsed(memory, chain.head(), 0);
                }
                if (txQueue.nextUsed() != usedBefore && txQueue.shouldNotify(memory)) {
                    interrupt.raise(VirtioInterrupt.USED_BUFFER);
                }
            } while (txQueue.enableNotification(memory));
        } catch (VirtQueueException e) {
            queueBroken(e);
        }
    }

    private void send(DescriptorChain chain) {
        GuestSegments out = GuestSegments.of(chain, false);
        if (out.length() < HEADER_SIZE || out.length() > MAX_FRAME) {
            metrics.txDropped.increment();
            return;
        }
        List<GuestSegments.Segment> segments = out.segments();
        long[] addresses = new long[segments.size()];
        long[] lengths = new long[segments.size()];
        for (int i = 0; i < segments.size(); i++) {
            addresses[i] = memory.hostAddress(segments.get(i).address(), segments.get(i).length());
            lengths[i] = segments.get(i).length();
        }
        try {
            if (tap.write(addresses, lengths, segments.size(), 100)) {
                metrics.txPackets.increment();
                metrics.txBytes.add(out.length() - HEADER_SIZE);
            } else {
                metrics.txDropped.increment();
            }
        } catch (IOException e) {
            // The TAP refused the frame (a malformed header, say): it is dropped like on a real link.
            metrics.txDropped.increment();
            LOG.log(Level.DEBUG, "{0}: frame dropped: {1}", name, e.getMessage());
        }
    }

    /** RX thread: frames from the TAP into guest buffers, waiting for buffers when the guest has none. */
    private void receiveLoop() {
        try {
            while (rxRunning) {
                if (pendingFrame < 0) {
                    int ready = tap.await(rxNotifier, -1);
                    if ((ready & PacketChannel.WOKEN) != 0) {
                        // A stop request or buffers the driver added: the loop looks at both.
                        rxNotifier.read();
                    }
                    if ((ready & PacketChannel.FRAME_READY) == 0) {
                        continue;
                    }
                    pendingFrame = tap.read(frame, MAX_FRAME);
                    if (pendingFrame < HEADER_SIZE) {
                        pendingFrame = -1;
                        continue;
                    }
                }
                if (!deliver(pendingFrame)) {
                    // No room in the guest: ask to be told when the driver adds buffers, then wait for that.
                    if (!rxQueue.enableNotification(memory)) {
                        rxNotifier.read();
                    }
                    continue;
                }
                pendingFrame = -1;
                if (rxQueue.shouldNotify(memory)) {
                    interrupt.raise(VirtioInterrupt.USED_BUFFER);
                }
            }
        } catch (VirtQueueException e) {
            queueBroken(e);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "{0}: receive stopped: {1}", name, e.getMessage());
        }
    }

    /** Places a frame of {@code length} bytes in guest buffers; false if the guest has too few. */
    private boolean deliver(int length) throws VirtQueueException {
        List<DescriptorChain> chains = new ArrayList<>();
        long capacity = 0;
        while (capacity < length) {
            DescriptorChain chain = nextChain(rxQueue);
            if (chain == null) {
                rxQueue.unpop(chains.size());
                return false;
            }
            long writable = chain.writableBytes();
            if (writable < (chains.isEmpty() ? HEADER_SIZE : 1)) {
                // A receive buffer the device cannot write into is the driver's mistake; return it empty.
                rxQueue.addUsed(memory, chain.head(), 0);
                metrics.invalidChains.increment();
                continue;
            }
            chains.add(chain);
            capacity += writable;
            if (!mergeable && capacity < length) {
                // Without mergeable buffers a frame must fit one chain: this one is too small.
                rxQueue.addUsed(memory, chain.head(), 0);
                metrics.rxDropped.increment();
                return true;
            }
        }
        // num_buffers: how many buffers the frame took (always 1 without mergeable buffers).
        frame.setShort(HEADER_SIZE - 2, (short) chains.size());
        ByteBuffer source = frame.getByteBuffer(0, length);
        for (DescriptorChain chain : chains) {
            int written = 0;
            for (Descriptor d : chain.descriptors()) {
                if (!d.writable() || !source.hasRemaining()) {
                    continue;
                }
                int n = Math.min(d.length(), source.remaining());
                ByteBuffer target = memory.slice(d.address(), n);
                target.put(source.slice(source.position(), n));
                // Written behind KVM's back: a migration must see the page.
                memory.markWritten(d.address(), n);
                source.position(source.position() + n);
                written += n;
            }
            rxQueue.addUsed(memory, chain.head(), written);
        }
        metrics.rxPackets.increment();
        metrics.rxBytes.add(length - HEADER_SIZE);
        return true;
    }

    /** The next chain; broken ones are returned to the driver and counted. */
    private DescriptorChain nextChain(VirtQueue queue) throws VirtQueueException {
        return queue.popOrReturnBroken(memory, e -> metrics.invalidChains.increment());
    }

    private void queueBroken(VirtQueueException e) {
        metrics.invalidChains.increment();
        LOG.log(Level.WARNING, "{0}: queue unusable, device needs reset: {1}", name, e.getMessage());
        needsReset.run();
    }

    /** Closes the TAP; the device must be reset (stopped) first. */
    public void close() {
        tap.close();
    }
}
