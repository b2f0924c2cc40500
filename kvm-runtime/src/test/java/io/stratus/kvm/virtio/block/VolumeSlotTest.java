package io.stratus.kvm.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.testing.NbdSockets;
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
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A volume slot through its MMIO transport, driven by a driver written against guest memory (no
 * KVM), its volumes served by Debian's {@code qemu-nbd} (skipped with the reason where it is not
 * installed).
 */
@Timeout(120)
class VolumeSlotTest {
    private static final int QSIZE = 16;
    private static final int MIB = 1 << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final String VOLUME_ID = "5f1c0a2e-93b4-4e7d-8d1f-0c7a9b3e6d21";

    @TempDir
    Path dir;
    private Path sockets;
    private final List<Process> servers = new ArrayList<>();
    private GuestMemory memory;
    private final AtomicInteger interrupts = new AtomicInteger();
    private VirtioMmioTransport transport;
    private VirtioBlock slot;

    @BeforeEach
    void setUp() throws IOException {
        Assumptions.assumeTrue(onPath("qemu-nbd"), "qemu-nbd is not installed (Debian: qemu-utils): volume slots"
                + " are not tested against an NBD server");
        // A Unix socket's path is at most 107 bytes: the test's own directory may be deeper.
        sockets = Files.createTempDirectory(Path.of("/tmp"), "slottest");
        memory = GuestMemory.x86(32L << 20, false);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (transport != null) {
            transport.close();
        }
        if (slot != null) {
            slot.closeVolume();
        }
        if (memory != null) {
            memory.close();
        }
        for (Process p : servers) {
            p.destroyForcibly().waitFor();
        }
        if (sockets != null) {
            try (var files = Files.list(sockets)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(sockets);
        }
    }

    /** qemu-nbd serving {@code file} (raw) as export {@code vol} on {@code socket}. */
    private Process serve(Path file, Path socket, String... options) throws Exception {
        Process p = NbdSockets.serveRaw(file, socket, dir.resolve(socket.getFileName() + "-" + servers.size() + ".log"), options);
        servers.add(p);
        return p;
    }

    private Path volumeFile(int bytes, String marker) throws IOException {
        Path f = dir.resolve("volume-" + servers.size() + ".raw");
        Files.write(f, new byte[bytes]);
        Files.write(f, marker.getBytes(StandardCharsets.US_ASCII), StandardOpenOption.WRITE);
        return f;
    }

    private NbdVolume volume(Path socket, boolean readOnly) {
        return NbdVolume.unix(VOLUME_ID, socket.toString(), "vol", readOnly);
    }

    private void plug(VirtioBlock device) {
        slot = device;
        transport = new VirtioMmioTransport(device, memory, new VirtioInterrupt(interrupts::incrementAndGet));
    }

    private int reg(int offset) {
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        transport.read(offset, b);
        return b.getInt(0);
    }

    private void reg(int offset, int value) {
        transport.write(offset, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value));
    }

    private long capacitySectors() {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        transport.read(VirtioMmioTransport.CONFIG, b);
        return b.getLong(0);
    }

    private int offeredLow() {
        reg(VirtioMmioTransport.DEVICE_FEATURES_SEL, 0);
        return reg(VirtioMmioTransport.DEVICE_FEATURES);
    }

    /** Negotiates VERSION_1 plus {@code extra}, sets up one queue, starts the device. */
    private MockDriver start(long extra) {
        reg(VirtioMmioTransport.STATUS, 0);
        reg(VirtioMmioTransport.STATUS, 3);
        long features = VirtioFeatures.VERSION_1 | extra;
        reg(VirtioMmioTransport.DRIVER_FEATURES_SEL, 0);
        reg(VirtioMmioTransport.DRIVER_FEATURES, (int) features);
        reg(VirtioMmioTransport.DRIVER_FEATURES_SEL, 1);
        reg(VirtioMmioTransport.DRIVER_FEATURES, (int) (features >>> 32));
        reg(VirtioMmioTransport.STATUS, 0xb);
        assertThat(reg(VirtioMmioTransport.STATUS) & 8).as("FEATURES_OK accepted").isEqualTo(8);
        long base = 0x100000L;
        reg(VirtioMmioTransport.QUEUE_SEL, 0);
        reg(VirtioMmioTransport.QUEUE_NUM, QSIZE);
        reg(VirtioMmioTransport.QUEUE_DESC_LOW, (int) (base + MockDriver.DESC));
        reg(VirtioMmioTransport.QUEUE_DRIVER_LOW, (int) (base + MockDriver.AVAIL));
        reg(VirtioMmioTransport.QUEUE_DEVICE_LOW, (int) (base + MockDriver.USED));
        reg(VirtioMmioTransport.QUEUE_READY, 1);
        reg(VirtioMmioTransport.STATUS, 0xf);
        return new MockDriver(memory, QSIZE, base);
    }

    /** Sends one request (header, optional data, status) and waits for it; returns its status. */
    private byte roundTrip(MockDriver d, int type, long sector, long data, int length, boolean deviceWrites)
            throws InterruptedException {
        long header = d.allocate(16);
        memory.writeInt(GuestAddress.of(header), type);
        memory.writeInt(GuestAddress.of(header + 4), 0);
        memory.writeLong(GuestAddress.of(header + 8), sector);
        long status = d.allocate(1);
        memory.writeByte(GuestAddress.of(status), (byte) 0x55);
        d.descriptor(0, header, 16, VirtQueue.DESC_F_NEXT, 1);
        if (length > 0) {
            d.descriptor(1, data, length, VirtQueue.DESC_F_NEXT | (deviceWrites ? VirtQueue.DESC_F_WRITE : 0), 2);
            d.descriptor(2, status, 1, VirtQueue.DESC_F_WRITE, 0);
        } else {
            d.descriptor(1, status, 1, VirtQueue.DESC_F_WRITE, 0);
        }
        d.publish(0);
        reg(VirtioMmioTransport.QUEUE_NOTIFY, 0);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (d.takeUsed() == null) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no used buffer");
            }
            Thread.sleep(1);
        }
        return memory.readByte(GuestAddress.of(status));
    }

    private String readString(long address, int length) {
        byte[] b = new byte[length];
        memory.read(GuestAddress.of(address), b);
        return new String(b, StandardCharsets.US_ASCII);
    }

    @Test
    void anEmptySlotIsADiskOfCapacityZeroWithoutSerialWhoseReadsFail() throws Exception {
        plug(VirtioBlock.volumeSlot("vdb", 1, TIMEOUT));
        assertThat(capacitySectors()).isZero();
        assertThat(offeredLow() & (int) (VirtioBlock.F_RO | VirtioBlock.F_DISCARD | VirtioBlock.F_WRITE_ZEROES))
                .as("no read-only flag, no discard or write-zeroes").isZero();
        MockDriver d = start(VirtioBlock.F_FLUSH);
        long buf = d.allocate(512);
        assertThat(roundTrip(d, VirtioBlock.T_IN, 0, buf, 512, true)).isEqualTo(VirtioBlock.S_IOERR);
        assertThat(roundTrip(d, VirtioBlock.T_FLUSH, 0, 0, 0, false)).isEqualTo(VirtioBlock.S_OK);
        long id = d.allocate(20);
        assertThat(roundTrip(d, VirtioBlock.T_GET_ID, 0, id, 20, true)).isEqualTo(VirtioBlock.S_OK);
        assertThat(readString(id, 20)).isEqualTo("\0".repeat(20));
        assertThat(slot.volume()).isEmpty();
        slot.empty(); // Emptying an empty slot changes nothing.
        assertThat(reg(VirtioMmioTransport.CONFIG_GENERATION)).isZero();
    }

    @Test
    void fillingRaisesAConfigChangeWithTheNewCapacityAndSerialAndIoGoesThroughNbd() throws Exception {
        Path file = volumeFile(4 * MIB, "VOLUME-SECTOR-0");
        Path socket = sockets.resolve("a.sock");
        serve(file, socket);
        plug(VirtioBlock.volumeSlot("vdb", 1, TIMEOUT));
        MockDriver d = start(VirtioBlock.F_FLUSH);
        int generation = reg(VirtioMmioTransport.CONFIG_GENERATION);
        int before = interrupts.get();

        slot.fill(volume(socket, false));

        assertThat(reg(VirtioMmioTransport.INTERRUPT_STATUS) & VirtioInterrupt.CONFIG_CHANGE).isNotZero();
        assertThat(interrupts.get()).isGreaterThan(before);
        assertThat(reg(VirtioMmioTransport.CONFIG_GENERATION)).isNotEqualTo(generation);
        assertThat(capacitySectors()).isEqualTo(4 * MIB / 512);
        reg(VirtioMmioTransport.INTERRUPT_ACK, VirtioInterrupt.CONFIG_CHANGE);

        long buf = d.allocate(512);
        assertThat(roundTrip(d, VirtioBlock.T_IN, 0, buf, 512, true)).isEqualTo(VirtioBlock.S_OK);
        assertThat(readString(buf, 15)).isEqualTo("VOLUME-SECTOR-0");
        long id = d.allocate(20);
        assertThat(roundTrip(d, VirtioBlock.T_GET_ID, 0, id, 20, true)).isEqualTo(VirtioBlock.S_OK);
        assertThat(readString(id, 20)).isEqualTo(VOLUME_ID.substring(0, 20));

        long w = d.allocate(1024);
        memory.write(GuestAddress.of(w), "TOKEN-FROM-THE-GUEST".getBytes(StandardCharsets.US_ASCII));
        assertThat(roundTrip(d, VirtioBlock.T_OUT, 16, w, 1024, false)).isEqualTo(VirtioBlock.S_OK);
        assertThat(roundTrip(d, VirtioBlock.T_IN, 8191, buf, 512, true)).as("the last sector")
                .isEqualTo(VirtioBlock.S_OK);
        assertThat(roundTrip(d, VirtioBlock.T_IN, 8192, buf, 512, true)).as("beyond the volume")
                .isEqualTo(VirtioBlock.S_IOERR);
        assertThatThrownBy(() -> slot.fill(volume(socket, false))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already");

        generation = reg(VirtioMmioTransport.CONFIG_GENERATION);
        slot.empty();
        assertThat(reg(VirtioMmioTransport.INTERRUPT_STATUS) & VirtioInterrupt.CONFIG_CHANGE).isNotZero();
        assertThat(reg(VirtioMmioTransport.CONFIG_GENERATION)).isNotEqualTo(generation);
        assertThat(capacitySectors()).isZero();
        assertThat(roundTrip(d, VirtioBlock.T_IN, 0, buf, 512, true)).isEqualTo(VirtioBlock.S_IOERR);
        byte[] onDisk = Files.readAllBytes(file);
        assertThat(new String(onDisk, 16 * 512, 20, StandardCharsets.US_ASCII)).isEqualTo("TOKEN-FROM-THE-GUEST");
        assertThat(((VirtioBlock) transport.device()).metrics().writeBytes()).isEqualTo(1024);
    }

    @Test
    void aReadOnlyVolumePresentAtBootIsOfferedReadOnlyAndRefusesWrites() throws Exception {
        Path file = volumeFile(MIB, "READ-ONLY");
        Path socket = sockets.resolve("ro.sock");
        serve(file, socket);
        plug(VirtioBlock.volumeSlot("vdb", 1, TIMEOUT));
        slot.fill(volume(socket, true));
        assertThat(offeredLow() & (int) VirtioBlock.F_RO).isNotZero();
        assertThat(capacitySectors()).isEqualTo(MIB / 512);
        MockDriver d = start(VirtioBlock.F_RO | VirtioBlock.F_FLUSH);
        long buf = d.allocate(512);
        assertThat(roundTrip(d, VirtioBlock.T_OUT, 0, buf, 512, false)).isEqualTo(VirtioBlock.S_IOERR);
        assertThat(roundTrip(d, VirtioBlock.T_DISCARD, 0, buf, 16, false)).isEqualTo(VirtioBlock.S_IOERR);
        assertThat(roundTrip(d, VirtioBlock.T_IN, 0, buf, 512, true)).isEqualTo(VirtioBlock.S_OK);
        assertThat(readString(buf, 9)).isEqualTo("READ-ONLY");
        assertThat(new String(Files.readAllBytes(file), 0, 9, StandardCharsets.US_ASCII)).isEqualTo("READ-ONLY");
    }

    @Test
    void aKilledServerGivesIoErrorsAndTheSlotEmptiesOnceItIsBack() throws Exception {
        Path file = volumeFile(MIB, "BEFORE");
        Path socket = sockets.resolve("k.sock");
        Process server = serve(file, socket);
        plug(VirtioBlock.volumeSlot("vdb", 1, TIMEOUT));
        MockDriver d = start(VirtioBlock.F_FLUSH);
        slot.fill(volume(socket, false));
        long buf = d.allocate(4096);
        memory.write(GuestAddress.of(buf), "WRITTEN".getBytes(StandardCharsets.US_ASCII));
        assertThat(roundTrip(d, VirtioBlock.T_OUT, 8, buf, 4096, false)).isEqualTo(VirtioBlock.S_OK);

        server.destroyForcibly().waitFor();
        Files.deleteIfExists(socket);

        assertThat(roundTrip(d, VirtioBlock.T_OUT, 0, buf, 4096, false)).isEqualTo(VirtioBlock.S_IOERR);
        assertThat(roundTrip(d, VirtioBlock.T_IN, 0, buf, 512, true)).isEqualTo(VirtioBlock.S_IOERR);
        assertThat(roundTrip(d, VirtioBlock.T_FLUSH, 0, 0, 0, false)).isEqualTo(VirtioBlock.S_IOERR);
        // The data the guest was told is written may not be durable: the volume stays.
        assertThatThrownBy(slot::empty).isInstanceOf(IOException.class);
        assertThat(capacitySectors()).isEqualTo(MIB / 512);

        serve(file, socket);
        slot.empty();
        assertThat(capacitySectors()).isZero();
        assertThat(new String(Files.readAllBytes(file), 8 * 512, 7, StandardCharsets.US_ASCII)).isEqualTo("WRITTEN");
        slot.fill(volume(socket, false));
        assertThat(roundTrip(d, VirtioBlock.T_IN, 8, buf, 512, true)).isEqualTo(VirtioBlock.S_OK);
        assertThat(readString(buf, 7)).isEqualTo("WRITTEN");
    }

    @Test
    void aSnapshotKeepsTheVolumesIdentityAndTheRestoreReconnectsOrFailsItsIo() throws Exception {
        Path file = volumeFile(2 * MIB, "SHARED-STORAGE");
        Path socket = sockets.resolve("s.sock");
        // Two clients at once: the restored slot connects while the first still is.
        Process server = serve(file, socket, "-e", "2");
        plug(VirtioBlock.volumeSlot("vdb", 1, TIMEOUT));
        slot.fill(volume(socket, false));
        byte[] state = slot.saveState();
        assertThat(state.length).as("the identity, not 2 MiB of data").isLessThan(256);
        assertThat(VirtioBlock.volumeSlot("vdc", 1, TIMEOUT).saveState()).as("an empty slot's state").isNotEmpty();

        VirtioBlock restored = VirtioBlock.volumeSlot("vdb", 1, TIMEOUT);
        restored.restoreState(state);
        try {
            assertThat(restored.volume()).contains(volume(socket, false));
            assertThat(restored.backend().capacity()).isEqualTo(2 * MIB);
            assertThat(restored.backend()).isInstanceOf(NbdDisk.class);
        } finally {
            restored.closeVolume();
        }

        slot.closeVolume();
        server.destroyForcibly().waitFor();
        Files.deleteIfExists(socket);
        transport.close();
        transport = null;
        slot = null;
        plug(VirtioBlock.volumeSlot("vdb", 1, TIMEOUT));
        slot.restoreState(state);
        assertThat(slot.volume()).contains(volume(socket, false));
        assertThat(capacitySectors()).as("the capacity the guest knew").isEqualTo(2 * MIB / 512);
        MockDriver d = start(VirtioBlock.F_FLUSH);
        long buf = d.allocate(512);
        assertThat(roundTrip(d, VirtioBlock.T_IN, 0, buf, 512, true)).isEqualTo(VirtioBlock.S_IOERR);

        assertThatThrownBy(() -> VirtioBlock.volumeSlot("vdd", 1, TIMEOUT).restoreState(new byte[] {1, 2, 3}))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aDiskOnAnNbdExportServesItsVolumeFromTheStartWithItsSerialAndIsNoSlot() throws Exception {
        Path file = volumeFile(2 * MIB, "ROOT-VOLUME");
        Path socket = sockets.resolve("root.sock");
        serve(file, socket);
        NbdDisk opened = NbdDisk.open(volume(socket, false), TIMEOUT);
        VirtioBlock root = VirtioBlock.onNbd("vda", opened, 1);
        try {
            plug(root);
            assertThat(root.isVolumeSlot()).isFalse();
            assertThat(root.image()).isEmpty();
            assertThat(root.volume()).contains(volume(socket, false));
            assertThatThrownBy(root::disk).isInstanceOf(IllegalStateException.class).hasMessageContaining("NBD");
            assertThat(capacitySectors()).isEqualTo(2 * MIB / 512);
            assertThat(offeredLow() & (int) (VirtioBlock.F_RO | VirtioBlock.F_DISCARD | VirtioBlock.F_WRITE_ZEROES))
                    .as("writable; no discard or write-zeroes, which the NBD client does not send").isZero();
            MockDriver d = start(VirtioBlock.F_FLUSH);
            long buf = d.allocate(512);
            assertThat(roundTrip(d, VirtioBlock.T_IN, 0, buf, 512, true)).isEqualTo(VirtioBlock.S_OK);
            assertThat(readString(buf, 11)).isEqualTo("ROOT-VOLUME");
            long id = d.allocate(20);
            assertThat(roundTrip(d, VirtioBlock.T_GET_ID, 0, id, 20, true)).isEqualTo(VirtioBlock.S_OK);
            assertThat(readString(id, 20)).as("the volume id's first 20 bytes").isEqualTo(VOLUME_ID.substring(0, 20));
            long w = d.allocate(512);
            memory.write(GuestAddress.of(w), "ROOT-TOKEN".getBytes(StandardCharsets.US_ASCII));
            assertThat(roundTrip(d, VirtioBlock.T_OUT, 8, w, 512, false)).isEqualTo(VirtioBlock.S_OK);
            assertThat(roundTrip(d, VirtioBlock.T_FLUSH, 0, 0, 0, false)).isEqualTo(VirtioBlock.S_OK);
            assertThat(new String(Files.readAllBytes(file), 8 * 512, 10, StandardCharsets.US_ASCII))
                    .isEqualTo("ROOT-TOKEN");

            // Nothing fills or empties it, and its saved state is empty: the VM's configuration names the export.
            assertThatThrownBy(() -> root.fill(volume(socket, false))).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(root::empty).isInstanceOf(IllegalStateException.class);
            assertThat(root.saveState()).isEmpty();
            assertThatThrownBy(() -> root.restoreState(new VolumeSlotState(java.util.Optional.of(volume(socket,
                    false)), 2 * MIB).encode())).isInstanceOf(IllegalArgumentException.class);
        } finally {
            root.backend().close();
        }
    }

    @Test
    void aSlotRestoredWithoutItsServerSaysWhyAndAConnectedOneDoesNot() throws Exception {
        Path file = volumeFile(MIB, "UP");
        Path up = sockets.resolve("up.sock");
        serve(file, up);
        VirtioBlock connected = VirtioBlock.volumeSlot("vdb", 1, TIMEOUT);
        VirtioBlock lost = VirtioBlock.volumeSlot("vdc", 1, TIMEOUT);
        try {
            connected.restore(new VolumeSlotState(java.util.Optional.of(volume(up, false)), MIB));
            assertThat(connected.unreachable()).isEmpty();
            lost.restore(new VolumeSlotState(java.util.Optional.of(volume(sockets.resolve("gone.sock"), false)), MIB));
            assertThat(lost.volume()).contains(volume(sockets.resolve("gone.sock"), false));
            assertThat(lost.unreachable()).hasValueSatisfying(why -> assertThat(why).contains(VOLUME_ID));
            assertThat(VirtioBlock.volumeSlot("vdd", 1, TIMEOUT).unreachable()).as("an empty slot").isEmpty();
        } finally {
            connected.closeVolume();
            lost.closeVolume();
        }
    }

    @Test
    void anImagesDiskIsNoSlot() throws Exception {
        Path image = dir.resolve("disk.img");
        Files.write(image, new byte[MIB]);
        try (DiskImage disk = DiskImage.open(image, false)) {
            VirtioBlock block = new VirtioBlock("vda", disk, "disk", 1);
            assertThat(block.isVolumeSlot()).isFalse();
            assertThat(block.saveState()).isEmpty();
            assertThatThrownBy(() -> block.fill(volume(sockets.resolve("none.sock"), false)))
                    .isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(block::empty).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void serversAreNamedAsUnixSocketsOrHostAndPort() {
        assertThat(NbdVolume.tcp("v", "::1", 10809, "x", false).server()).isEqualTo("[::1]:10809");
        assertThat(NbdVolume.tcp("v", "10.0.0.2", 10809, "x", false).address().toString()).contains("10809");
        assertThatThrownBy(() -> new NbdVolume("v", "unix:relative", "x", false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NbdVolume("v", "host:notaport", "x", false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NbdVolume("v", "host", "x", false)).isInstanceOf(IllegalArgumentException.class);
    }

    private static boolean onPath(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }
}
