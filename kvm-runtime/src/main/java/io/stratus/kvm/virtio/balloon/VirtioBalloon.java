package io.stratus.kvm.virtio.balloon;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.persist.Persist;
import io.stratus.kvm.sys.EventFd;
import io.stratus.kvm.virtio.ChainLoop;
import io.stratus.kvm.virtio.Descriptor;
import io.stratus.kvm.virtio.DescriptorChain;
import io.stratus.kvm.virtio.GuestSegments;
import io.stratus.kvm.virtio.QueueWorker;
import io.stratus.kvm.virtio.VirtQueue;
import io.stratus.kvm.virtio.VirtioDevice;
import io.stratus.kvm.virtio.VirtioFeatures;
import io.stratus.kvm.virtio.VirtioInterrupt;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * virtio-balloon (virtio 1.2, section 5.5): the host sets a target, the guest inflates the
 * balloon with pages it gives up (the VMM returns them to the host), deflates it to take them
 * back, reports its memory statistics on request, and reports free pages on its own (free page
 * reporting), which the VMM also returns to the host. With DEFLATE_ON_OOM the guest deflates
 * under memory pressure instead of running out of memory.
 *
 * <p>Pages given back read as zero for the guest afterwards.
 */
public final class VirtioBalloon implements VirtioDevice, Persist<BalloonState> {
    public static final int DEVICE_TYPE = 5;
    public static final int QUEUE_SIZE = 256;
    /** Balloon pages are 4 KiB whatever the guest's page size (VIRTIO_BALLOON_PFN_SHIFT). */
    public static final int PAGE = 4096;

    static final long F_STATS_VQ = 1L << 1;
    static final long F_DEFLATE_ON_OOM = 1L << 2;
    static final long F_PAGE_REPORTING = 1L << 5;
    static final int STAT_SIZE = 10;

    private final String name;
    private final long guestBytes;
    private volatile Duration statsInterval;
    private volatile int targetPages;
    private volatile int actualPages;
    private final AtomicLong inflatedBytes = new AtomicLong();
    private final AtomicLong deflatedBytes = new AtomicLong();
    private final AtomicLong reportedBytes = new AtomicLong();
    private volatile MemoryStats stats;
    private volatile VirtioInterrupt interrupt;

    private GuestMemory memory;
    private Runnable needsReset;
    private final List<QueueWorker> workers = new ArrayList<>();
    private final List<Runnable> handlers = new ArrayList<>();
    private final List<EventFd> handlerNotifiers = new ArrayList<>();
    private VirtQueue statsQueue;
    private EventFd statsNotifier;
    private volatile boolean statsWanted;
    private Thread statsPoller;
    private volatile boolean polling;
    /** The stats buffer the driver handed over and the device holds until it wants new figures. */
    private volatile int heldStatsHead = -1;

    /** The statistics the guest last reported, in bytes where they are sizes. */
    public record MemoryStats(long swapIn, long swapOut, long majorFaults, long minorFaults, long free, long total,
                              long available, long caches, long at) {
    }

    /**
     * @param guestBytes the guest's memory: targets above it are refused
     * @param statsInterval how often the guest is asked for fresh statistics
     */
    public VirtioBalloon(String name, long guestBytes, Duration statsInterval) {
        this.name = name;
        this.guestBytes = guestBytes;
        this.statsInterval = statsInterval;
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
        return VirtioFeatures.VERSION_1 | VirtioFeatures.RING_EVENT_IDX | F_STATS_VQ | F_DEFLATE_ON_OOM
                | F_PAGE_REPORTING;
    }

    @Override
    public int queueCount() {
        // inflate, deflate, stats, reporting: the guest numbers only the ones whose features it took.
        return 4;
    }

    @Override
    public int queueMaxSize() {
        return QUEUE_SIZE;
    }

    /**
     * Asks the guest to hold {@code bytes} in its balloon (0: give everything back).
     *
     * @throws IllegalArgumentException when the target is negative or above the guest's memory
     */
    public void setTarget(long bytes) {
        if (bytes < 0 || bytes > guestBytes) {
            throw new IllegalArgumentException("balloon target of " + (bytes >> 20) + " MiB is outside 0 to the guest's "
                    + (guestBytes >> 20) + " MiB");
        }
        targetPages = (int) (bytes / PAGE);
        VirtioInterrupt irq = interrupt;
        if (irq != null) {
            irq.raise(VirtioInterrupt.CONFIG_CHANGE);
        }
    }

    public long targetBytes() {
        return (long) targetPages * PAGE;
    }

    /** What the guest says its balloon holds. */
    public long actualBytes() {
        return (long) actualPages * PAGE;
    }

    public long inflatedBytes() {
        return inflatedBytes.get();
    }

    public long deflatedBytes() {
        return deflatedBytes.get();
    }

    /** Bytes of free pages the guest reported and the VMM returned to the host. */
    public long reportedBytes() {
        return reportedBytes.get();
    }

    public Optional<MemoryStats> stats() {
        return Optional.ofNullable(stats);
    }

    public void setStatsInterval(Duration interval) {
        this.statsInterval = interval;
    }

    @Override
    public void readConfig(long offset, ByteBuffer data) {
        ByteBuffer config = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        config.putInt(0, targetPages);
        config.putInt(4, actualPages);
        VirtioDevice.readConfigBytes(config.array(), offset, data);
    }

    @Override
    public void writeConfig(long offset, ByteBuffer data) {
        // Only "actual" (bytes 4-7) is the driver's to write.
        if (offset == 4 && data.remaining() == 4) {
            int pages = data.order(ByteOrder.LITTLE_ENDIAN).getInt(data.position());
            actualPages = (int) Math.max(0, Math.min(pages & 0xffffffffL, guestBytes / PAGE));
        }
    }

    @Override
    public synchronized void activate(GuestMemory guestMemory, long ackedFeatures, List<VirtQueue> queues,
                                      List<EventFd> notifiers, VirtioInterrupt irq, Runnable reset) {
        this.memory = guestMemory;
        this.interrupt = irq;
        this.needsReset = reset;
        int index = 0;
        addHandler(queues.get(index), notifiers.get(index++), this::inflate);
        addHandler(queues.get(index), notifiers.get(index++), this::deflate);
        if ((ackedFeatures & F_STATS_VQ) != 0) {
            statsQueue = queues.get(index);
            statsNotifier = notifiers.get(index++);
            if (statsQueue.isReady()) {
                VirtQueue q = statsQueue;
                handlers.add(() -> {
                    releaseHeldStats(q);
                    serve(q, this::takeStats);
                });
                handlerNotifiers.add(statsNotifier);
            }
        }
        if ((ackedFeatures & F_PAGE_REPORTING) != 0) {
            addHandler(queues.get(index), notifiers.get(index), this::report);
        }
        start();
    }

    private void addHandler(VirtQueue queue, EventFd notifier, ChainLoop.Handler handler) {
        if (queue.isReady()) {
            handlers.add(() -> serve(queue, handler));
            handlerNotifiers.add(notifier);
        }
    }

    private void start() {
        for (int i = 0; i < handlers.size(); i++) {
            workers.add(QueueWorker.start(name + "-q" + i, handlerNotifiers.get(i), handlers.get(i)));
        }
        if (statsQueue != null && statsQueue.isReady()) {
            polling = true;
            statsPoller = new Thread(this::pollStats, name + "-stats");
            statsPoller.setDaemon(true);
            statsPoller.start();
        }
    }

    private void stop() {
        for (QueueWorker w : workers) {
            w.stop();
        }
        workers.clear();
        if (statsPoller != null) {
            polling = false;
            statsPoller.interrupt();
            QueueWorker.joinUninterruptibly(statsPoller);
            statsPoller = null;
        }
    }

    @Override
    public synchronized void reset() {
        stop();
        handlers.clear();
        handlerNotifiers.clear();
        statsQueue = null;
        heldStatsHead = -1;
        actualPages = 0;
    }

    @Override
    public synchronized void pause() {
        stop();
        // A held stats buffer goes back to the guest, which hands it over again after a restore;
        // otherwise a restored device would wait forever for a buffer it no longer knows about.
        if (heldStatsHead >= 0) {
            statsQueue.addUsed(memory, heldStatsHead, 0);
            heldStatsHead = -1;
            interrupt.raise(VirtioInterrupt.USED_BUFFER);
        }
    }

    @Override
    public synchronized void resume() {
        if (workers.isEmpty()) {
            start();
        }
    }

    @Override
    public BalloonState save() {
        return new BalloonState(targetPages, actualPages);
    }

    /**
     * Takes back a {@link #save()}: neither figure may be negative or above the guest's memory
     * ({@link #setTarget} and the guest's reports are held to the same bounds).
     */
    @Override
    public void restore(BalloonState state) {
        long pages = guestBytes / PAGE;
        if (state.targetPages() < 0 || state.targetPages() > pages || state.actualPages() < 0
                || state.actualPages() > pages) {
            throw new IllegalArgumentException(name + ": balloon state of " + state.targetPages() + " target and "
                    + state.actualPages() + " actual pages is outside 0 to the guest's " + pages);
        }
        targetPages = state.targetPages();
        actualPages = state.actualPages();
    }

    @Override
    public byte[] saveState() {
        return save().encode();
    }

    /** The transport's copy of {@link #save()}; every format so far wrote eight bytes. */
    @Override
    public void restoreState(byte[] state) {
        restore(BalloonState.decode(state));
    }

    private void serve(VirtQueue queue, ChainLoop.Handler handler) {
        ChainLoop.serve(name, queue, memory, interrupt, needsReset, handler);
    }

    /** Inflate: the buffers hold 32-bit page frame numbers the guest gave up. */
    private int inflate(DescriptorChain chain) {
        long[] pfns = pageNumbers(chain);
        long start = -1;
        long run = 0;
        for (long pfn : pfns) {
            if (start >= 0 && pfn == start + run) {
                run++;
                continue;
            }
            discardPages(start, run);
            start = pfn;
            run = 1;
        }
        discardPages(start, run);
        inflatedBytes.addAndGet((long) pfns.length * PAGE);
        return 0;
    }

    /** Deflate: the pages are the guest's again; they come back zeroed as it touches them. */
    private int deflate(DescriptorChain chain) {
        deflatedBytes.addAndGet((long) pageNumbers(chain).length * PAGE);
        return 0;
    }

    private long[] pageNumbers(DescriptorChain chain) {
        GuestSegments in = GuestSegments.of(chain, false);
        int count = (int) Math.min(in.length() / 4, QUEUE_SIZE * 256L);
        byte[] raw = new byte[count * 4];
        in.read(memory, raw);
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[count];
        for (int i = 0; i < count; i++) {
            out[i] = b.getInt(i * 4) & 0xffffffffL;
        }
        return out;
    }

    private void discardPages(long firstPfn, long pages) {
        if (firstPfn < 0 || pages == 0) {
            return;
        }
        GuestAddress at = GuestAddress.of(firstPfn * PAGE);
        long length = pages * PAGE;
        if (memory.isValidRange(at, length)) {
            memory.discard(at, length);
        }
        // A page outside guest RAM is the guest's mistake; there is nothing to give back.
    }

    /** Free page reporting: each buffer is a free range the guest will not touch until it is returned. */
    private int report(DescriptorChain chain) {
        for (Descriptor d : chain.descriptors()) {
            long length = d.length() & 0xffffffffL;
            if (!memory.isValidRange(d.address(), length)) {
                continue; // outside guest RAM: the guest's mistake, nothing to give back
            }
            long start = (d.address().value() + PAGE - 1) & -PAGE;
            long end = (d.address().value() + length) & -PAGE;
            if (end > start && memory.isValidRange(GuestAddress.of(start), end - start)) {
                memory.discard(GuestAddress.of(start), end - start);
                reportedBytes.addAndGet(end - start);
            }
        }
        return 0;
    }

    /** Stats: parse the buffer, then keep it until the poller wants fresh figures. */
    private int takeStats(DescriptorChain chain) {
        GuestSegments in = GuestSegments.of(chain, false);
        int count = (int) Math.min(in.length() / STAT_SIZE, 64);
        byte[] raw = new byte[count * STAT_SIZE];
        in.read(memory, raw);
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        long[] v = new long[10];
        for (int i = 0; i < count; i++) {
            int tag = b.getShort(i * STAT_SIZE) & 0xffff;
            if (tag < v.length) {
                v[tag] = b.getLong(i * STAT_SIZE + 2);
            }
        }
        stats = new MemoryStats(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], System.currentTimeMillis());
        if (heldStatsHead >= 0) {
            // A driver that hands over a second buffer gets the first one back rather than losing it.
            statsQueue.addUsed(memory, heldStatsHead, 0);
        }
        heldStatsHead = chain.head();
        return -1;
    }

    /** On the stats queue's thread: if the poller asked, hand the held buffer back for fresh figures. */
    private void releaseHeldStats(VirtQueue queue) {
        if (statsWanted && heldStatsHead >= 0) {
            statsWanted = false;
            queue.addUsed(memory, heldStatsHead, 0);
            heldStatsHead = -1;
            interrupt.raise(VirtioInterrupt.USED_BUFFER);
        }
    }

    /** Every interval, asks the stats queue's thread to hand the held buffer back (only that thread touches the queue). */
    private void pollStats() {
        while (polling) {
            try {
                Thread.sleep(statsInterval.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            statsWanted = true;
            statsNotifier.write(1);
        }
    }
}
