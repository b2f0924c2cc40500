package io.stratus.kvm.virtio.block;

import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.persist.Persist;
import io.stratus.kvm.sys.EventFd;
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
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.time.Duration;

/**
 * virtio-blk over a {@link DiskImage}, raw or qcow2 (virtio 1.2, section 5.2): read, write, flush, device id,
 * discard and write-zeroes, a read-only flag, and one I/O thread per queue. Data moves between the
 * file and guest memory through direct buffers over guest RAM, without a copy in between.
 *
 * <p>A <em>volume slot</em> ({@link #volumeSlot}) is a device whose storage comes and goes while the
 * guest runs, since virtio-mmio devices cannot be hot-plugged: empty, it is a disk of capacity 0;
 * {@link #fill} puts an NBD volume in it (the capacity and the serial become the volume's, and a
 * configuration-change interrupt tells the driver), {@link #empty} flushes it and takes it out.
 * Requests hold the slot's read lock and a swap its write lock, so a swap waits for requests in
 * progress (each bounded by the NBD client's timeout) and none sees half a swap.
 *
 * <p>A request the guest got wrong (a malformed chain, a sector beyond the disk, a write to a
 * read-only disk) fails with an error status or is returned empty; it never stops the device for
 * well-formed requests on this or other queues.
 *
 * <p>Why it is over 500 lines: request handling, the volume slot's swap (its lock and NBD
 * backends) and the config space are still one class; the slot's saved state already lives apart
 * ({@link VolumeSlotState}), and request handling versus the slot is the next split (issue 19).
 */
public final class VirtioBlock implements VirtioDevice, Persist<VolumeSlotState> {
    public static final int DEVICE_TYPE = 2;
    public static final int QUEUE_SIZE = 256;
    /** Bytes of the device id that GET_ID returns. */
    public static final int ID_BYTES = 20;

    static final long F_SEG_MAX = 1L << 2;
    static final long F_RO = 1L << 5;
    static final long F_BLK_SIZE = 1L << 6;
    static final long F_FLUSH = 1L << 9;
    static final long F_MQ = 1L << 12;
    static final long F_DISCARD = 1L << 13;
    static final long F_WRITE_ZEROES = 1L << 14;

    static final int T_IN = 0;
    static final int T_OUT = 1;
    static final int T_FLUSH = 4;
    static final int T_GET_ID = 8;
    static final int T_DISCARD = 11;
    static final int T_WRITE_ZEROES = 13;

    static final byte S_OK = 0;
    static final byte S_IOERR = 1;
    static final byte S_UNSUPP = 2;

    static final int HEADER_SIZE = 16;
    static final int DISCARD_SEGMENT_SIZE = 16;
    static final int MAX_DISCARD_SEGMENTS = 32;
    static final int CONFIG_SIZE = 60;

    private static final System.Logger LOG = System.getLogger(VirtioBlock.class.getName());

    private final String name;
    /** The image of a disk; null for a volume slot or a disk on an NBD export. */
    private final DiskImage image;
    /** Whether volumes come and go in this device ({@link #volumeSlot}). */
    private final boolean slot;
    private final int queueCount;
    /** How long a slot's NBD connection waits for its server at any step. */
    private final Duration nbdTimeout;
    private final ReentrantReadWriteLock swap = new ReentrantReadWriteLock();
    private volatile BlockBackend disk;
    /** The volume in a slot or behind a disk on an NBD export; null for an empty slot or an image. */
    private volatile NbdVolume volume;
    private volatile byte[] id;
    private volatile byte[] config;
    private final AtomicInteger configGeneration = new AtomicInteger();
    /** The active device's interrupt, for configuration changes; null until the driver starts it. */
    private volatile VirtioInterrupt configInterrupt;
    private final BlockMetrics metrics = new BlockMetrics();
    private final List<QueueWorker> workers = new ArrayList<>();
    private final List<QueueHandler> handlers = new ArrayList<>();
    private final List<EventFd> handlerNotifiers = new ArrayList<>();
    /** The blocks the guest changed, while a migration tracks them; null otherwise. */
    private volatile DirtyBlocks dirtyBlocks;

    /**
     * @param id the serial GET_ID reports (ASCII, up to 20 bytes)
     * @param queueCount queues, each served by its own thread (VIRTIO_BLK_F_MQ when more than one)
     */
    public VirtioBlock(String name, DiskImage disk, String id, int queueCount) {
        this(name, disk, disk, null, false, id, queueCount, Duration.ZERO);
    }

    private VirtioBlock(String name, DiskImage image, BlockBackend disk, NbdVolume volume, boolean slot, String id,
                        int queueCount, Duration nbdTimeout) {
        if (queueCount < 1 || queueCount > 16) {
            throw new IllegalArgumentException("a block device has 1 to 16 queues, not " + queueCount);
        }
        this.name = name;
        this.image = image;
        this.slot = slot;
        this.disk = disk;
        this.volume = volume;
        this.queueCount = queueCount;
        this.nbdTimeout = nbdTimeout;
        this.id = serial(id);
        this.config = buildConfig(disk.capacity(), queueCount);
    }

    /**
     * An empty volume slot: a disk of capacity 0 until {@link #fill} puts a volume in it.
     *
     * @param nbdTimeout the longest wait for a volume's NBD server at any step (connecting, each request)
     */
    public static VirtioBlock volumeSlot(String name, int queueCount, Duration nbdTimeout) {
        return new VirtioBlock(name, null, BlockBackend.EMPTY, null, true, "", queueCount, nbdTimeout);
    }

    /**
     * A disk whose data is a volume's NBD export for the device's whole life (a guest's root
     * volume): no slot, so nothing fills or empties it; its serial is the volume's. Like a slot it
     * offers no discard or write-zeroes (the NBD client sends neither), and its saved state is
     * empty: the VM's configuration names the export ({@code DiskConfig.nbd}), never its data.
     *
     * @param volume the open connection, which this device now owns (closed with the VM)
     */
    public static VirtioBlock onNbd(String name, NbdDisk volume, int queueCount) {
        return new VirtioBlock(name, null, volume, volume.volume(), false, volume.volume().serial(), queueCount,
                Duration.ZERO);
    }

    private static byte[] serial(String id) {
        byte[] b = new byte[ID_BYTES];
        byte[] ascii = id.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(ascii, 0, b, 0, Math.min(ascii.length, ID_BYTES));
        return b;
    }

    private static byte[] buildConfig(long capacity, int queues) {
        ByteBuffer c = ByteBuffer.allocate(CONFIG_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        c.putLong(0, capacity / DiskImage.SECTOR_SIZE);
        c.putInt(12, QUEUE_SIZE - 2); // seg_max: a header and a status descriptor besides the data
        c.putInt(20, DiskImage.SECTOR_SIZE);
        c.putShort(34, (short) queues);
        c.putInt(36, Integer.MAX_VALUE / DiskImage.SECTOR_SIZE); // max_discard_sectors
        c.putInt(40, MAX_DISCARD_SEGMENTS);
        c.putInt(44, 1); // discard_sector_alignment
        c.putInt(48, Integer.MAX_VALUE / DiskImage.SECTOR_SIZE); // max_write_zeroes_sectors
        c.putInt(52, MAX_DISCARD_SEGMENTS);
        c.put(56, (byte) 1); // write_zeroes_may_unmap
        return c.array();
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * A slot offers VIRTIO_BLK_F_RO when the volume in it is read-only as the driver negotiates (a
     * read-only volume present at boot); one filled later is read-only in that its writes fail.
     * A slot offers no discard or write-zeroes: the NBD client sends neither.
     */
    @Override
    public long offeredFeatures() {
        long f = VirtioFeatures.VERSION_1 | VirtioFeatures.RING_EVENT_IDX | VirtioFeatures.RING_INDIRECT_DESC
                | F_SEG_MAX | F_BLK_SIZE | F_FLUSH | (queueCount > 1 ? F_MQ : 0);
        if (disk.readOnly()) {
            return f | F_RO;
        }
        return image == null ? f : f | F_DISCARD | F_WRITE_ZEROES;
    }

    @Override
    public int configGeneration() {
        return configGeneration.get();
    }

    @Override
    public int queueCount() {
        return queueCount;
    }

    @Override
    public int queueMaxSize() {
        return QUEUE_SIZE;
    }

    /** The image of a disk device. */
    public DiskImage disk() {
        if (image == null) {
            throw new IllegalStateException(name + " is " + (slot ? "a volume slot" : "a disk on an NBD export")
                    + ", not an image's disk");
        }
        return image;
    }

    /** The image of a disk device; empty for a volume slot or a disk on an NBD export ({@link #onNbd}). */
    public Optional<DiskImage> image() {
        return Optional.ofNullable(image);
    }

    /** Whether this is a volume slot ({@link #volumeSlot}) rather than a disk. */
    public boolean isVolumeSlot() {
        return slot;
    }

    /**
     * Why the volume a restore put back in this slot is not served (its server was not reached, or
     * serves another size now): every request fails until the slot is emptied. Empty where the
     * slot's volume is connected, or it holds none.
     */
    public Optional<String> unreachable() {
        return disk instanceof Unreachable u ? Optional.of(u.describe() + ": " + u.why) : Optional.empty();
    }

    /** The storage behind the device now: the image, a volume, or {@link BlockBackend#EMPTY}. */
    public BlockBackend backend() {
        return disk;
    }

    /** The volume in this slot or behind this disk, if it holds one. */
    public Optional<NbdVolume> volume() {
        return Optional.ofNullable(volume);
    }

    /**
     * Connects to {@code v}'s NBD export and puts it in this empty slot ({@link #fill(NbdDisk)}).
     *
     * @throws IOException the server cannot be reached or refuses the export; the slot stays empty
     */
    public void fill(NbdVolume v) throws IOException {
        requireSlot();
        requireEmpty();
        NbdDisk opened = NbdDisk.open(v, nbdTimeout);
        try {
            fill(opened);
        } catch (RuntimeException e) {
            opened.close();
            throw e;
        }
    }

    /**
     * Puts {@code volume} (this device now owns it) in this empty slot: the capacity and the serial
     * become the volume's, the configuration generation moves on, and a started driver gets a
     * configuration-change interrupt, on which Linux's virtio_blk reads the new capacity.
     *
     * @throws IllegalStateException this is no slot, or the slot is not empty
     */
    public void fill(NbdDisk volume) {
        install(volume.volume(), volume);
    }

    private void requireSlot() {
        if (!isVolumeSlot()) {
            throw new IllegalStateException(name + " is an image's disk, not a volume slot");
        }
    }

    private void requireEmpty() {
        BlockBackend b = disk;
        if (b != BlockBackend.EMPTY) {
            throw new IllegalStateException(name + " holds " + b.describe() + " already");
        }
    }

    private void install(NbdVolume v, BlockBackend backend) {
        requireSlot();
        swap.writeLock().lock();
        try {
            requireEmpty();
            volume = v;
            id = serial(v.serial());
            disk = backend;
            config = buildConfig(backend.capacity(), queueCount);
        } finally {
            swap.writeLock().unlock();
        }
        announceConfigChange();
    }

    /**
     * Takes the volume out of this slot once every write the guest completed is durable: requests in
     * progress finish, the volume is flushed, and the slot reads as capacity 0 (with a
     * configuration-change interrupt). A flush that fails on a lost connection is tried once more on
     * a fresh one (a server that came back still holds what it acknowledged). A no-op for an empty slot.
     *
     * @throws IOException the volume could not be flushed: it stays in the slot
     */
    public void empty() throws IOException {
        requireSlot();
        BlockBackend old;
        swap.writeLock().lock();
        try {
            old = disk;
            if (old == BlockBackend.EMPTY) {
                return;
            }
            flushForDetach(old, volume);
            disk = BlockBackend.EMPTY;
            volume = null;
            id = serial("");
            config = buildConfig(0, queueCount);
        } finally {
            swap.writeLock().unlock();
        }
        old.close();
        announceConfigChange();
    }

    private void flushForDetach(BlockBackend backend, NbdVolume v) throws IOException {
        try {
            backend.flush();
        } catch (IOException first) {
            try (NbdDisk again = NbdDisk.open(v, nbdTimeout)) {
                again.flush();
            } catch (IOException second) {
                first.addSuppressed(second);
                throw first;
            }
        }
    }

    private void announceConfigChange() {
        configGeneration.incrementAndGet();
        VirtioInterrupt i = configInterrupt;
        if (i != null) {
            i.raise(VirtioInterrupt.CONFIG_CHANGE);
        }
    }

    /** Releases a slot's volume without flushing it (the VM is going away); images are closed by their owner. */
    public void closeVolume() {
        if (isVolumeSlot()) {
            disk.close();
        }
    }

    public BlockMetrics.Snapshot metrics() {
        return metrics.snapshot();
    }

    /**
     * Starts recording which {@link DirtyBlocks#BLOCK_SIZE} blocks the guest changes (writes,
     * write-zeroes, discards), for a live migration that moves the disk: a write is recorded once it
     * has completed, so a block read for sending before the write landed comes up again in the next
     * {@link #takeDirtyBlocks()}. Writes before this call are not reported. A no-op when tracking.
     */
    public synchronized void startDirtyTracking() {
        if (dirtyBlocks == null) {
            dirtyBlocks = new DirtyBlocks(disk().capacity());
        }
    }

    /**
     * The blocks (indexes of {@link DirtyBlocks#BLOCK_SIZE} blocks) the guest changed since tracking
     * started or since the last call, clearing the record. Safe while the guest runs: a block
     * changed meanwhile is in this answer or the next.
     */
    public BitSet takeDirtyBlocks() {
        DirtyBlocks d = dirtyBlocks;
        if (d == null) {
            throw new IllegalStateException(name + " is not tracking dirty blocks");
        }
        return d.take();
    }

    /** Stops recording changed blocks; a no-op when not tracking. */
    public synchronized void stopDirtyTracking() {
        dirtyBlocks = null;
    }

    /** Whether {@link #startDirtyTracking()} is in effect. */
    public boolean dirtyTracking() {
        return dirtyBlocks != null;
    }

    /** Records a completed (or failed, possibly partial) change of the disk for a tracking migration. */
    private void markChanged(long offset, long length) {
        DirtyBlocks d = dirtyBlocks;
        if (d != null) {
            d.mark(offset, length);
        }
    }

    @Override
    public void readConfig(long offset, ByteBuffer data) {
        VirtioDevice.readConfigBytes(config, offset, data);
    }

    @Override
    public void writeConfig(long offset, ByteBuffer data) {
        // Every field the VMM offers is read-only (no VIRTIO_BLK_F_CONFIG_WCE).
    }

    @Override
    public synchronized void activate(GuestMemory memory, long ackedFeatures, List<VirtQueue> queues,
                                      List<EventFd> notifiers, VirtioInterrupt interrupt, Runnable needsReset) {
        for (int i = 0; i < queues.size(); i++) {
            VirtQueue queue = queues.get(i);
            if (queue.isReady()) {
                handlers.add(new QueueHandler(memory, queue, interrupt, needsReset));
                handlerNotifiers.add(notifiers.get(i));
            }
        }
        configInterrupt = interrupt;
        startWorkers();
    }

    private void startWorkers() {
        for (int i = 0; i < handlers.size(); i++) {
            workers.add(QueueWorker.start(name + "-q" + i, handlerNotifiers.get(i), handlers.get(i)::drain));
        }
    }

    private void stopWorkers() {
        for (QueueWorker w : workers) {
            w.stop();
        }
        workers.clear();
    }

    @Override
    public synchronized void reset() {
        configInterrupt = null;
        stopWorkers();
        handlers.clear();
        handlerNotifiers.clear();
    }

    @Override
    public synchronized void pause() {
        stopWorkers();
    }

    @Override
    public synchronized void resume() {
        if (workers.isEmpty()) {
            startWorkers();
        }
    }

    /**
     * A slot saves which volume it holds (id, server, export, read-only, the capacity the guest
     * knows), never the data: that stays on the NBD server, shared storage the snapshot or
     * migration target reaches too. An image's disk saves nothing here (its file is the image).
     */
    @Override
    public byte[] saveState() {
        return isVolumeSlot() ? save().encode() : new byte[0];
    }

    /** Which volume this slot holds; {@link VolumeSlotState#EMPTY} for an image's disk, which has no slot. */
    @Override
    public VolumeSlotState save() {
        if (!isVolumeSlot()) {
            return VolumeSlotState.EMPTY;
        }
        swap.readLock().lock();
        try {
            NbdVolume v = volume;
            return v == null ? VolumeSlotState.EMPTY : new VolumeSlotState(Optional.of(v), disk.capacity());
        } finally {
            swap.readLock().unlock();
        }
    }

    /**
     * Restores a slot's {@link #saveState()} into this fresh, empty slot ({@link #restore}).
     *
     * @throws IllegalArgumentException the state is not a slot's (or a slot's given to an image's disk)
     * @throws IllegalStateException    the slot holds a volume already
     */
    @Override
    public void restoreState(byte[] state) {
        if (!isVolumeSlot()) {
            if (state.length != 0) {
                throw new IllegalArgumentException(name + " is an image's disk; the snapshot holds a volume slot's state");
            }
            return;
        }
        VolumeSlotState slot;
        try {
            slot = VolumeSlotState.decode(state);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
        restore(slot);
    }

    /**
     * Puts the volume a slot held back into this fresh, empty slot by connecting to the same
     * export again. Where the server cannot be reached (or serves another size), the slot holds
     * the volume anyway, at the capacity the guest knows, with every request failing as an I/O
     * error: the guest resumes and sees what it would see had the server gone away while it ran,
     * and an {@link #empty} (which flushes on a fresh connection) or a new restore can follow.
     *
     * @throws IllegalArgumentException a volume given to an image's disk
     * @throws IllegalStateException    the slot holds a volume already
     */
    @Override
    public void restore(VolumeSlotState state) {
        if (state.volume().isEmpty()) {
            return;
        }
        if (!isVolumeSlot()) {
            throw new IllegalArgumentException(name + " is an image's disk; the snapshot holds a volume slot's state");
        }
        NbdVolume v = state.volume().get();
        long capacity = state.capacity();
        BlockBackend backend;
        try {
            NbdDisk opened = NbdDisk.open(v, nbdTimeout);
            if (opened.capacity() == capacity) {
                backend = opened;
            } else {
                opened.close();
                backend = new Unreachable(v, capacity, "it now has " + opened.capacity() + " bytes, the guest knows "
                        + capacity);
            }
        } catch (IOException e) {
            backend = new Unreachable(v, capacity, e.getMessage());
        }
        if (backend instanceof Unreachable u) {
            LOG.log(Level.WARNING, "{0}: {1} restored without its server: {2}", name, v, u.why);
        }
        install(v, backend);
    }

    /** A restored slot's volume whose server was not reached: the capacity the guest knows, and I/O errors. */
    private static final class Unreachable implements BlockBackend {
        private final NbdVolume volume;
        private final long capacity;
        private final String why;

        Unreachable(NbdVolume volume, long capacity, String why) {
            this.volume = volume;
            this.capacity = capacity;
            this.why = why;
        }

        @Override
        public long capacity() {
            return capacity;
        }

        @Override
        public boolean readOnly() {
            return volume.readOnly();
        }

        @Override
        public String describe() {
            return volume + ", unreachable since the restore";
        }

        private IOException fail() {
            return new IOException(volume + " was not reached when the guest was restored: " + why);
        }

        @Override
        public void read(long[] addresses, long[] lengths, int count, long position) throws IOException {
            throw fail();
        }

        @Override
        public void write(long[] addresses, long[] lengths, int count, long position) throws IOException {
            throw fail();
        }

        @Override
        public void flush() throws IOException {
            throw fail();
        }

        @Override
        public void zero(long position, long length) throws IOException {
            throw fail();
        }

        @Override
        public void close() {
            // No connection to end.
        }
    }

    /** Serves one queue; runs on that queue's worker thread only. */
    private final class QueueHandler {
        private final GuestMemory memory;
        private final VirtQueue queue;
        private final VirtioInterrupt interrupt;
        private final Runnable needsReset;
        private boolean broken;

        QueueHandler(GuestMemory memory, VirtQueue queue, VirtioInterrupt interrupt, Runnable needsReset) {
            this.memory = memory;
            this.queue = queue;
            this.interrupt = interrupt;
            this.needsReset = needsReset;
        }

        /** Serves every available chain, then re-arms notifications and checks again. */
        void drain() {
            if (broken) {
                return;
            }
            try {
                do {
                    int usedBefore = queue.nextUsed();
                    DescriptorChain chain;
                    while ((chain = queue.popOrReturnBroken(memory, e -> {
                        metrics.invalidChains.increment();
                        LOG.log(Level.DEBUG, "{0}: {1}", name, e.getMessage());
                    })) != null) {
                        int written;
                        try {
                            written = execute(chain);
                        } catch (RuntimeException e) {
                            // A request the VMM cannot make sense of fails alone; the queue goes on.
                            metrics.invalidChains.increment();
                            LOG.log(Level.WARNING, "{0}: request {1} failed: {2}", name, chain.head(), e.toString());
                            written = 0;
                        }
                        queue.addUsed(memory, chain.head(), written);
                    }
                    if (queue.nextUsed() != usedBefore && queue.shouldNotify(memory)) {
                        interrupt.raise(VirtioInterrupt.USED_BUFFER);
                    }
                } while (queue.enableNotification(memory));
            } catch (VirtQueueException e) {
                broken = true;
                metrics.invalidChains.increment();
                LOG.log(Level.WARNING, "{0}: queue unusable, device needs reset: {1}", name, e.getMessage());
                needsReset.run();
            }
        }

        /** Performs one request and returns the bytes written into the chain (data and status). */
        private int execute(DescriptorChain chain) {
            swap.readLock().lock();
            try {
                return execute(chain, disk);
            } finally {
                swap.readLock().unlock();
            }
        }

        private int execute(DescriptorChain chain, BlockBackend disk) {
            GuestSegments in = GuestSegments.of(chain, false);
            GuestSegments out = GuestSegments.of(chain, true);
            if (in.length() < HEADER_SIZE || out.length() < 1) {
                // No header to act on or no byte to report status in: the request fails empty.
                metrics.invalidChains.increment();
                return 0;
            }
            GuestSegments status = out.skip(out.length() - 1);
            GuestSegments data = out.dropLast(1);
            byte[] header = new byte[HEADER_SIZE];
            in.read(memory, header);
            ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
            int type = h.getInt(0);
            long sector = h.getLong(8);
            GuestSegments payload = in.skip(HEADER_SIZE);
            int written = 0;
            byte result;
            try {
                switch (type) {
                    case T_IN -> {
                        result = transfer(disk, sector, data, false);
                        written = result == S_OK ? (int) data.length() : 0;
                    }
                    case T_OUT -> result = disk.readOnly() ? S_IOERR : transfer(disk, sector, payload, true);
                    case T_FLUSH -> {
                        disk.flush();
                        metrics.flushes.increment();
                        result = S_OK;
                    }
                    case T_GET_ID -> {
                        int n = (int) Math.min(ID_BYTES, data.length());
                        data.range(0, n).write(memory, Arrays.copyOf(id, n));
                        written = n;
                        result = S_OK;
                    }
                    case T_DISCARD, T_WRITE_ZEROES -> result = disk.readOnly() ? S_IOERR : zeroRanges(disk, payload);
                    default -> result = S_UNSUPP;
                }
            } catch (IOException e) {
                LOG.log(Level.WARNING, "{0}: I/O error on {1}: {2}", name, disk.describe(), e.getMessage());
                result = S_IOERR;
            }
            if (result != S_OK) {
                metrics.failedRequests.increment();
            }
            status.write(memory, new byte[] {result});
            return written + 1;
        }

        private byte transfer(BlockBackend disk, long sector, GuestSegments data, boolean write) throws IOException {
            long offset = sector * DiskImage.SECTOR_SIZE;
            if (sector < 0 || sector > Long.MAX_VALUE / DiskImage.SECTOR_SIZE || data.length() % DiskImage.SECTOR_SIZE != 0
                    || offset > disk.capacity() - data.length()) {
                return S_IOERR;
            }
            List<GuestSegments.Segment> segments = data.segments();
            int n = segments.size();
            long[] addresses = new long[n];
            long[] lengths = new long[n];
            for (int i = 0; i < n; i++) {
                GuestSegments.Segment s = segments.get(i);
                addresses[i] = memory.hostAddress(s.address(), s.length());
                lengths[i] = s.length();
            }
            // One preadv/pwritev for the whole request, straight between the file and guest RAM.
            if (write) {
                try {
                    disk.write(addresses, lengths, n, offset);
                } finally {
                    // After the write, never before: a migration that read the block meanwhile sends it again.
                    markChanged(offset, data.length());
                }
            } else {
                disk.read(addresses, lengths, n, offset);
                // The file went into guest RAM behind KVM's back: a migration must see those pages.
                for (GuestSegments.Segment s : segments) {
                    memory.markWritten(s.address(), s.length());
                }
            }
            if (write) {
                metrics.writeOps.increment();
                metrics.writeBytes.add(data.length());
            } else {
                metrics.readOps.increment();
                metrics.readBytes.add(data.length());
            }
            return S_OK;
        }

        private byte zeroRanges(BlockBackend disk, GuestSegments payload) throws IOException {
            long count = payload.length() / DISCARD_SEGMENT_SIZE;
            if (count == 0 || count > MAX_DISCARD_SEGMENTS || payload.length() % DISCARD_SEGMENT_SIZE != 0) {
                return S_IOERR;
            }
            byte[] raw = new byte[(int) payload.length()];
            payload.read(memory, raw);
            ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++) {
                long sector = b.getLong(i * DISCARD_SEGMENT_SIZE);
                long sectors = b.getInt(i * DISCARD_SEGMENT_SIZE + 8) & 0xffffffffL;
                long offset = sector * DiskImage.SECTOR_SIZE;
                long length = sectors * DiskImage.SECTOR_SIZE;
                if (sector < 0 || sector > Long.MAX_VALUE / DiskImage.SECTOR_SIZE || offset > disk.capacity() - length) {
                    return S_IOERR;
                }
                try {
                    disk.zero(offset, length);
                } finally {
                    markChanged(offset, length);
                }
            }
            metrics.discards.increment();
            return S_OK;
        }
    }
}
