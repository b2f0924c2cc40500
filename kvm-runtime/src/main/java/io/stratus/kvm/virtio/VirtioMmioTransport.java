package io.stratus.kvm.virtio;

import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.devices.BusDevice;
import io.stratus.kvm.persist.Persist;
import io.stratus.kvm.sys.EventFd;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The virtio-mmio transport, version 2 (virtio 1.2, section 4.2.2): the register window through
 * which the driver negotiates features, sets up queues and starts the device. Guest writes that
 * break the protocol (wrong widths, queue changes after start, features the device does not
 * offer) are ignored or refused the way the specification tells a device to, never trusted.
 */
public final class VirtioMmioTransport implements BusDevice, Persist<VirtioTransportState> {
    /** Size of the register window; configuration space starts at {@link #CONFIG}. */
    public static final int WINDOW_SIZE = 0x200;
    public static final int MAGIC_VALUE = 0x000;
    public static final int VERSION = 0x004;
    public static final int DEVICE_ID = 0x008;
    public static final int VENDOR_ID = 0x00c;
    public static final int DEVICE_FEATURES = 0x010;
    public static final int DEVICE_FEATURES_SEL = 0x014;
    public static final int DRIVER_FEATURES = 0x020;
    public static final int DRIVER_FEATURES_SEL = 0x024;
    public static final int QUEUE_SEL = 0x030;
    public static final int QUEUE_NUM_MAX = 0x034;
    public static final int QUEUE_NUM = 0x038;
    public static final int QUEUE_READY = 0x044;
    /** Where the driver notifies queues; KVM handles it through ioeventfd. */
    public static final int QUEUE_NOTIFY = 0x050;
    public static final int INTERRUPT_STATUS = 0x060;
    public static final int INTERRUPT_ACK = 0x064;
    public static final int STATUS = 0x070;
    public static final int QUEUE_DESC_LOW = 0x080;
    public static final int QUEUE_DESC_HIGH = 0x084;
    public static final int QUEUE_DRIVER_LOW = 0x090;
    public static final int QUEUE_DRIVER_HIGH = 0x094;
    public static final int QUEUE_DEVICE_LOW = 0x0a0;
    public static final int QUEUE_DEVICE_HIGH = 0x0a4;
    public static final int CONFIG_GENERATION = 0x0fc;
    public static final int CONFIG = 0x100;

    public static final int STATUS_ACKNOWLEDGE = 1;
    public static final int STATUS_DRIVER = 2;
    public static final int STATUS_DRIVER_OK = 4;
    public static final int STATUS_FEATURES_OK = 8;
    public static final int STATUS_DEVICE_NEEDS_RESET = 0x40;
    public static final int STATUS_FAILED = 0x80;

    static final int MAGIC = 0x74726976; // "virt"
    /** "STRA", as the vendor id. */
    static final int VENDOR = 0x41525453;

    private static final System.Logger LOG = System.getLogger(VirtioMmioTransport.class.getName());

    private final VirtioDevice device;
    private final GuestMemory memory;
    private final List<VirtQueue> queues;
    private final List<EventFd> notifiers;
    private final VirtioInterrupt interrupt;

    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;
    private int status;
    private boolean active;
    /** Set from device threads without the transport's lock, which a reset holds while it stops them. */
    private final AtomicBoolean needsReset = new AtomicBoolean();

    /**
     * @param notifiers one eventfd per queue: the VM registers them as ioeventfds on
     *                  {@link #QUEUE_NOTIFY} with the queue index as data match
     */
    public VirtioMmioTransport(VirtioDevice device, GuestMemory memory, VirtioInterrupt interrupt) {
        this.device = device;
        this.memory = memory;
        this.interrupt = interrupt;
        List<VirtQueue> q = new ArrayList<>();
        List<EventFd> n = new ArrayList<>();
        for (int i = 0; i < device.queueCount(); i++) {
            q.add(new VirtQueue(device.queueMaxSize()));
            n.add(EventFd.create(false));
        }
        this.queues = Collections.unmodifiableList(q);
        this.notifiers = Collections.unmodifiableList(n);
    }

    public VirtioDevice device() {
        return device;
    }

    /** The per-queue notification eventfds, in queue order. */
    public List<EventFd> notifiers() {
        return notifiers;
    }

    /** The queues, for tests and snapshots. */
    public List<VirtQueue> queues() {
        return queues;
    }

    public synchronized int status() {
        return status | (needsReset.get() ? STATUS_DEVICE_NEEDS_RESET : 0);
    }

    @Override
    public void read(long offset, ByteBuffer data) {
        if (offset >= CONFIG) {
            device.readConfig(offset - CONFIG, data);
            return;
        }
        int value = data.remaining() == 4 && offset % 4 == 0 ? readRegister((int) offset) : 0;
        for (int i = 0; i < data.remaining(); i++) {
            data.put(data.position() + i, (byte) (i < 4 ? value >>> (8 * i) : 0));
        }
    }

    private synchronized int readRegister(int offset) {
        switch (offset) {
            case MAGIC_VALUE:
                return MAGIC;
            case VERSION:
                return 2;
            case DEVICE_ID:
                return device.deviceType();
            case VENDOR_ID:
                return VENDOR;
            case DEVICE_FEATURES:
                return deviceFeaturesSel > 1 ? 0 : (int) (device.offeredFeatures() >>> (32 * deviceFeaturesSel));
            case QUEUE_NUM_MAX:
                return selectedQueue() == null ? 0 : selectedQueue().maxSize();
            case QUEUE_READY:
                return selectedQueue() != null && selectedQueue().isReady() ? 1 : 0;
            case INTERRUPT_STATUS:
                return interrupt.status();
            case STATUS:
                return status | (needsReset.get() ? STATUS_DEVICE_NEEDS_RESET : 0);
            case CONFIG_GENERATION:
                return device.configGeneration();
            default:
                return 0;
        }
    }

    @Override
    public void write(long offset, ByteBuffer data) {
        if (offset >= CONFIG) {
            device.writeConfig(offset - CONFIG, data);
            return;
        }
        if (data.remaining() != 4 || offset % 4 != 0) {
            return; // Registers are 32 bits wide; the specification lets the device ignore other accesses.
        }
        int value = data.getInt(data.position());
        if (offset == QUEUE_NOTIFY) {
            // Reached only where KVM did not take the notification through ioeventfd.
            if (value >= 0 && value < notifiers.size()) {
                notifiers.get(value).write(1);
            }
            return;
        }
        writeRegister((int) offset, value);
    }

    private synchronized void writeRegister(int offset, int value) {
        VirtQueue q = selectedQueue();
        boolean queueWritable = q != null && !q.isReady() && (status & STATUS_DRIVER_OK) == 0;
        switch (offset) {
            case DEVICE_FEATURES_SEL -> deviceFeaturesSel = value;
            case DRIVER_FEATURES_SEL -> driverFeaturesSel = value;
            case DRIVER_FEATURES -> {
                if ((status & STATUS_FEATURES_OK) == 0 && driverFeaturesSel >= 0 && driverFeaturesSel <= 1) {
                    long shift = 32L * driverFeaturesSel;
                    driverFeatures = (driverFeatures & ~(0xffffffffL << shift)) | ((value & 0xffffffffL) << shift);
                }
            }
            case QUEUE_SEL -> queueSel = value;
            case QUEUE_NUM -> {
                if (queueWritable) {
                    q.setSize(value);
                }
            }
            case QUEUE_READY -> {
                if (q != null && (status & STATUS_DRIVER_OK) == 0) {
                    q.setReady(value == 1);
                }
            }
            case QUEUE_DESC_LOW -> setLow(queueWritable, q, 0, value);
            case QUEUE_DESC_HIGH -> setHigh(queueWritable, q, 0, value);
            case QUEUE_DRIVER_LOW -> setLow(queueWritable, q, 1, value);
            case QUEUE_DRIVER_HIGH -> setHigh(queueWritable, q, 1, value);
            case QUEUE_DEVICE_LOW -> setLow(queueWritable, q, 2, value);
            case QUEUE_DEVICE_HIGH -> setHigh(queueWritable, q, 2, value);
            case INTERRUPT_ACK -> interrupt.acknowledge(value);
            case STATUS -> writeStatus(value);
            default -> {
                // Unknown or read-only register: ignored.
            }
        }
    }

    private static long address(VirtQueue q, int which) {
        return switch (which) {
            case 0 -> q.descriptorTable();
            case 1 -> q.availRing();
            default -> q.usedRing();
        };
    }

    private static void setAddress(VirtQueue q, int which, long value) {
        switch (which) {
            case 0 -> q.setDescriptorTable(value);
            case 1 -> q.setAvailRing(value);
            default -> q.setUsedRing(value);
        }
    }

    private static void setLow(boolean writable, VirtQueue q, int which, int value) {
        if (writable) {
            setAddress(q, which, (address(q, which) & 0xffffffff00000000L) | (value & 0xffffffffL));
        }
    }

    private static void setHigh(boolean writable, VirtQueue q, int which, int value) {
        if (writable) {
            setAddress(q, which, (address(q, which) & 0xffffffffL) | ((long) value << 32));
        }
    }

    private VirtQueue selectedQueue() {
        return queueSel >= 0 && queueSel < queues.size() ? queues.get(queueSel) : null;
    }

    private void writeStatus(int value) {
        if (value == 0) {
            reset();
            return;
        }
        int added = value & ~status;
        if ((added & STATUS_FEATURES_OK) != 0 && !featuresAcceptable()) {
            // Leaving FEATURES_OK clear tells the driver the device refused its feature set.
            value &= ~STATUS_FEATURES_OK;
        }
        status = value & ~STATUS_DEVICE_NEEDS_RESET;
        if ((added & STATUS_DRIVER_OK) != 0 && (status & STATUS_FEATURES_OK) != 0 && !active) {
            activate();
        }
    }

    private boolean featuresAcceptable() {
        long offered = device.offeredFeatures();
        return (driverFeatures & ~offered) == 0 && (driverFeatures & VirtioFeatures.VERSION_1) != 0;
    }

    private void activate() {
        List<VirtQueue> ready = new ArrayList<>();
        for (VirtQueue q : queues) {
            if (q.isReady()) {
                if (!q.isValid(memory)) {
                    LOG.log(Level.WARNING, "{0}: driver started the device with an invalid queue"
                            + " (size {1}, rings outside guest RAM or misaligned); device needs reset",
                            device.name(), q.size());
                    markNeedsReset();
                    return;
                }
                q.setEventIdx((driverFeatures & VirtioFeatures.RING_EVENT_IDX) != 0);
            }
            ready.add(q);
        }
        active = true;
        device.activate(memory, driverFeatures, ready, notifiers, interrupt, this::markNeedsReset);
    }

    /** DEVICE_NEEDS_RESET plus a configuration interrupt, as the specification prescribes. */
    private void markNeedsReset() {
        if (needsReset.compareAndSet(false, true)) {
            interrupt.raise(VirtioInterrupt.CONFIG_CHANGE);
        }
    }

    /** Quiesces the device (the VM is pausing): requests in progress finish, no new ones start. */
    public synchronized void pause() {
        if (active) {
            device.pause();
        }
    }

    /** Undoes {@link #pause()}. */
    public synchronized void resume() {
        if (active) {
            device.resume();
        }
    }

    /** The transport's state; take it while the device is paused. */
    @Override
    public synchronized VirtioTransportState save() {
        return new VirtioTransportState(status, driverFeatures, deviceFeaturesSel, driverFeaturesSel, queueSel,
                interrupt.status(), needsReset.get(), queues.stream().map(VirtQueue::save).toList(),
                device.saveState());
    }

    /**
     * Restores a {@link #save()} into a fresh transport and, if the driver had started the device,
     * starts it again on the restored queues. The transport's own fields and every queue's are
     * checked before any is set; the device checks its own state.
     */
    @Override
    public synchronized void restore(VirtioTransportState s) {
        if (s.queues().size() != queues.size()) {
            throw new IllegalArgumentException(device.name() + " has " + queues.size() + " queues, the snapshot "
                    + s.queues().size());
        }
        if ((s.status() & STATUS_DEVICE_NEEDS_RESET) != 0) {
            // The transport keeps that bit apart (needsReset); a saved status never holds it.
            throw new IllegalArgumentException(device.name() + ": device status " + s.status()
                    + " holds DEVICE_NEEDS_RESET");
        }
        if ((s.interruptStatus() & ~(VirtioInterrupt.USED_BUFFER | VirtioInterrupt.CONFIG_CHANGE)) != 0) {
            throw new IllegalArgumentException(device.name() + ": interrupt status " + s.interruptStatus()
                    + " has bits virtio-mmio does not define");
        }
        for (VirtQueueState q : s.queues()) {
            VirtQueue.check(q);
        }
        status = s.status();
        driverFeatures = s.driverFeatures();
        deviceFeaturesSel = s.deviceFeaturesSel();
        driverFeaturesSel = s.driverFeaturesSel();
        queueSel = s.queueSel();
        interrupt.restore(s.interruptStatus());
        needsReset.set(s.needsReset());
        for (int i = 0; i < queues.size(); i++) {
            queues.get(i).restore(s.queues().get(i));
        }
        device.restoreState(s.deviceState());
        if ((status & STATUS_DRIVER_OK) != 0 && !s.needsReset()) {
            activate();
        }
    }

    /** Device reset: stops the device, then forgets every negotiated setting. */
    public synchronized void reset() {
        if (active) {
            device.reset();
            active = false;
        }
        for (VirtQueue q : queues) {
            q.reset();
        }
        interrupt.clear();
        needsReset.set(false);
        status = 0;
        driverFeatures = 0;
        deviceFeaturesSel = 0;
        driverFeaturesSel = 0;
        queueSel = 0;
    }

    /** Stops the device and closes the notifiers; the transport is unusable afterwards. */
    public void close() {
        reset();
        for (EventFd fd : notifiers) {
            fd.close();
        }
    }
}
