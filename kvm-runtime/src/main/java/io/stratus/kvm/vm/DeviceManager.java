package io.stratus.kvm.vm;

import io.stratus.kvm.devices.AcpiPowerControl;
import io.stratus.kvm.devices.Bus;
import io.stratus.kvm.devices.ConsoleSink;
import io.stratus.kvm.devices.GuestPowerEvents;
import io.stratus.kvm.devices.I8042;
import io.stratus.kvm.devices.Ib700Watchdog;
import io.stratus.kvm.devices.IgnoredPorts;
import io.stratus.kvm.devices.InterruptLine;
import io.stratus.kvm.devices.Serial8250;
import io.stratus.kvm.acpi.AcpiTables;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.sys.EventFd;
import io.stratus.kvm.sys.KvmException;
import io.stratus.kvm.sys.PacketChannel;
import io.stratus.kvm.sys.VmFd;
import io.stratus.kvm.virtio.VirtioDevice;
import io.stratus.kvm.virtio.VirtioInterrupt;
import io.stratus.kvm.virtio.VirtioMmioTransport;
import io.stratus.kvm.virtio.balloon.VirtioBalloon;
import io.stratus.kvm.virtio.block.BlockBackend;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.kvm.virtio.block.NbdDisk;
import io.stratus.kvm.virtio.block.VirtioBlock;
import io.stratus.kvm.virtio.net.VirtioNet;
import io.stratus.kvm.virtio.rng.VirtioRng;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A VM's devices and what connects them to the guest (Firecracker's {@code DeviceManager}, whose
 * name it keeps): the port I/O and MMIO buses, the virtio-mmio slots and their transports, and
 * the interrupt lines (irqfds). {@link VmBuilder} attaches the devices one {@code attach…} call
 * each, in the order the guest numbers them; the VM pauses, resumes and closes them here.
 *
 * <p>A new virtio device is one {@code attach…} method here (its slot after the ones before it,
 * counted in {@link #slotCount}) and one line in the builder; its state goes through its
 * transport ({@link VirtioDevice#saveState()}).
 */
final class DeviceManager {
    /** Queues (and I/O threads) per disk: one per vCPU up to this many. */
    private static final int MAX_BLOCK_QUEUES = 4;
    /**
     * The longest a volume slot waits for its NBD server at any step: a request on a server that
     * stopped answering fails (an I/O error in the guest) after this, instead of holding its queue.
     */
    static final Duration NBD_TIMEOUT = Duration.ofSeconds(10);

    private final VmConfig config;
    private final VmFd vmFd;
    private final GuestMemory memory;
    /** The disks' storage, in config order: image files, or NBD connections for disks on an export. */
    private final List<BlockBackend> disks;
    private final List<MmioSlot> slots;
    private final Bus pio = new Bus("port I/O");
    private final Bus mmio = new Bus("MMIO");
    private final List<EventFd> interruptFds = new ArrayList<>();
    private final List<VirtioMmioTransport> transports = new ArrayList<>();
    private final List<VirtioBlock> blockDevices = new ArrayList<>();
    private final List<VirtioBlock> volumeSlots = new ArrayList<>();
    private final List<VirtioNet> netDevices = new ArrayList<>();
    private VirtioBalloon balloon;
    private VirtioRng entropy;
    private Serial8250 serial;
    /** The IB700, when the config asks for one. */
    private Ib700Watchdog watchdog;

    /**
     * @param disks the opened storage of {@code config}'s disks, in its order (a {@link DiskImage},
     *                   or an {@link NbdDisk} for a disk on an NBD export); closed by {@link #closeDevices()}
     */
    DeviceManager(VmConfig config, VmFd vmFd, GuestMemory memory, List<BlockBackend> disks) {
        this.config = config;
        this.vmFd = vmFd;
        this.memory = memory;
        this.disks = disks;
        this.slots = MmioSlot.allocate(slotCount(config));
    }

    /** Disks, network devices, the balloon, volume slots, the entropy device: one virtio-mmio slot each. */
    private static int slotCount(VmConfig config) {
        return config.disks().size() + config.nets().size() + (config.balloonStatsInterval().isPresent() ? 1 : 0)
                + config.volumeSlots() + (config.entropy() ? 1 : 0);
    }

    /**
     * The PC platform's port devices: COM1, the i8042's reset line, ACPI power control, the ports
     * Linux probes and expects silence on, and the IB700 when the config asks for one.
     *
     * @param watchdogExpired run on the watchdog's timer thread each time it runs out
     */
    void attachPlatformDevices(ConsoleSink console, GuestPowerEvents power, Runnable watchdogExpired) {
        serial = new Serial8250(console, interruptLine(Serial8250.COM1_IRQ));
        pio.register(Serial8250.COM1_PORT, Serial8250.PORT_COUNT, serial);
        pio.register(I8042.DATA_PORT, 1, I8042.dataPort());
        pio.register(I8042.COMMAND_PORT, 1, new I8042(power));
        AcpiPowerControl acpiPower = new AcpiPowerControl(power, AcpiTables.S5_SLEEP_TYPE);
        pio.register(AcpiPowerControl.SLEEP_CONTROL_PORT, 2, acpiPower.sleepRegisters());
        pio.register(AcpiPowerControl.RESET_PORT, 1, acpiPower.resetRegister());
        IgnoredPorts ignored = new IgnoredPorts();
        pio.register(IgnoredPorts.POST_PORT, 1, ignored);
        pio.register(IgnoredPorts.ALT_DELAY_PORT, 1, ignored);
        if (config.watchdog()) {
            watchdog = new Ib700Watchdog(Ib700Watchdog.Timer.ofThread(config.name() + "-ib700"), watchdogExpired);
            pio.register(Ib700Watchdog.STOP_PORT, Ib700Watchdog.START_PORT - Ib700Watchdog.STOP_PORT + 1, watchdog);
        }
    }

    /** The disks take the first slots, in config order (vda first), whether files or NBD exports. */
    void attachBlockDevices() {
        int queues = Math.min(config.vcpus(), MAX_BLOCK_QUEUES);
        for (int i = 0; i < disks.size(); i++) {
            MmioSlot slot = slots.get(i);
            DiskConfig disk = config.disks().get(i);
            String name = config.name() + "-vd" + (char) ('a' + i);
            VirtioBlock block = disks.get(i) instanceof NbdDisk nbd ? VirtioBlock.onNbd(name, nbd, queues)
                    : new VirtioBlock(name, (DiskImage) disks.get(i), disk.id(), queues);
            blockDevices.add(block);
            attachVirtio(block, slot);
        }
    }

    /** virtio-net devices take the slots after the disks. */
    void attachNetDevices() {
        for (int i = 0; i < config.nets().size(); i++) {
            NetConfig net = config.nets().get(i);
            PacketChannel tap;
            try {
                tap = PacketChannel.openTap(net.tap(), VirtioNet.HEADER_SIZE);
            } catch (KvmException e) {
                throw new VmConfigException("network device " + net.tap() + ": " + e.getMessage());
            }
            VirtioNet device = new VirtioNet(config.name() + "-eth" + i, tap, net.macBytes());
            netDevices.add(device);
            attachVirtio(device, slots.get(disks.size() + i));
        }
    }

    /** The balloon takes the slot after the network devices. */
    void attachBalloon() {
        config.balloonStatsInterval().ifPresent(interval -> {
            balloon = new VirtioBalloon(config.name() + "-balloon", config.memoryBytes(), interval);
            attachVirtio(balloon, slots.get(disks.size() + config.nets().size()));
        });
    }

    /**
     * Volume slots take the slots after the balloon: the guest names them after the disks (vdb, …),
     * and the devices before them keep their places.
     */
    void attachVolumeSlots() {
        int queues = Math.min(config.vcpus(), MAX_BLOCK_QUEUES);
        int first = disks.size() + config.nets().size() + (config.balloonStatsInterval().isPresent() ? 1 : 0);
        for (int i = 0; i < config.volumeSlots(); i++) {
            VirtioBlock slot = VirtioBlock.volumeSlot(config.name() + "-vol" + i, queues, NBD_TIMEOUT);
            volumeSlots.add(slot);
            attachVirtio(slot, slots.get(first + i));
        }
    }

    /** The entropy device takes the last slot, after the volume slots. */
    void attachEntropy() {
        if (config.entropy()) {
            entropy = new VirtioRng(config.name() + "-rng");
            attachVirtio(entropy, slots.get(slots.size() - 1));
        }
    }

    private void attachVirtio(VirtioDevice device, MmioSlot slot) {
        VirtioMmioTransport transport = new VirtioMmioTransport(device, memory,
                new VirtioInterrupt(interruptLine(slot.gsi())));
        transports.add(transport);
        mmio.register(slot.base(), VirtioMmioTransport.WINDOW_SIZE, transport);
        List<EventFd> notifiers = transport.notifiers();
        for (int q = 0; q < notifiers.size(); q++) {
            // KVM signals the queue's eventfd on QueueNotify writes without a trip through user space.
            vmFd.registerIoeventfd(notifiers.get(q), slot.base() + VirtioMmioTransport.QUEUE_NOTIFY, 4, (long) q,
                    false);
        }
    }

    /** An irqfd on {@code gsi}: each trigger is one edge into the in-kernel IOAPIC (and PIC below 16). */
    private InterruptLine interruptLine(int gsi) {
        EventFd fd = EventFd.create(false);
        interruptFds.add(fd);
        vmFd.registerIrqfd(fd, gsi);
        return () -> fd.write(1);
    }

    /** The devices finish the requests in progress and take no new ones; the watchdog's countdown stops. */
    void pause() {
        for (VirtioMmioTransport t : transports) {
            t.pause();
        }
    }

    void suspendWatchdog() {
        if (watchdog != null) {
            watchdog.suspend();
        }
    }

    /** Undoes {@link #pause()} and {@link #suspendWatchdog()}. */
    void resume() {
        for (VirtioMmioTransport t : transports) {
            t.resume();
        }
        if (watchdog != null) {
            watchdog.resume();
        }
    }

    /** A guest that no longer runs cannot feed its watchdog. */
    void closeWatchdog() {
        if (watchdog != null) {
            watchdog.close();
        }
    }

    /** Flushes every disk, durably (a qcow2 image writes its metadata back; an NBD server its cache). */
    void flushDisks() throws IOException {
        for (BlockBackend d : disks) {
            d.flush();
        }
    }

    /** Flushes what each filled volume slot's server holds. */
    void flushVolumes() throws IOException {
        for (VirtioBlock v : volumeSlots) {
            v.backend().flush();
        }
    }

    /** Stops the device threads (they touch guest memory), then closes images, volumes and TAPs. */
    void closeDevices() {
        for (VirtioMmioTransport t : transports) {
            t.close();
        }
        for (BlockBackend d : disks) {
            d.close();
        }
        for (VirtioBlock v : volumeSlots) {
            v.closeVolume();
        }
        for (VirtioNet n : netDevices) {
            n.close();
        }
    }

    /** Closes the irqfds; after the vCPUs', before the VM's descriptor. */
    void closeInterruptLines() {
        for (EventFd fd : interruptFds) {
            fd.close();
        }
    }

    Bus pio() {
        return pio;
    }

    Bus mmio() {
        return mmio;
    }

    List<MmioSlot> slots() {
        return slots;
    }

    Serial8250 serial() {
        return serial;
    }

    List<VirtioMmioTransport> transports() {
        return transports;
    }

    List<VirtioBlock> blockDevices() {
        return blockDevices;
    }

    List<VirtioBlock> volumeSlots() {
        return volumeSlots;
    }

    List<VirtioNet> netDevices() {
        return netDevices;
    }

    Optional<VirtioBalloon> balloon() {
        return Optional.ofNullable(balloon);
    }

    Optional<VirtioRng> entropy() {
        return Optional.ofNullable(entropy);
    }
}
