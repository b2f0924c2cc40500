package io.stratus.kvm.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kvm.sys.MsrEntry;
import io.stratus.kvm.virtio.VirtQueueState;
import io.stratus.kvm.virtio.VirtioTransportState;
import io.stratus.kvm.virtio.balloon.BalloonState;
import io.stratus.kvm.virtio.block.NbdVolume;
import io.stratus.kvm.virtio.block.VolumeSlotState;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * State files written before the state moved into per-part records still read, and the current
 * format is written byte for byte as before. The files under {@code src/test/resources/snapshot/}
 * were written by the codec of commit 5a48c4a from the fixture in {@code WriteFixture.java.txt}
 * beside them (format 3; formats 2 and 1 are the same body without the fields they lacked).
 * Format 4 is format 3 with each disk's NBD volume record after its serial (an empty one for a
 * file's disk): a format 3 file written again is exactly that.
 */
class SnapshotFormatCompatibilityTest {
    private static byte[] resource(String name) throws IOException {
        try (InputStream in = SnapshotFormatCompatibilityTest.class.getResourceAsStream("/snapshot/" + name)) {
            assertThat(in).as(name).isNotNull();
            return in.readAllBytes();
        }
    }

    @Test
    void aFormat3FileWrittenBeforeTheRecordsReadsAndIsWrittenAgainAsFormat4() throws IOException {
        byte[] file = resource("state-v3.bin");
        VmSnapshot s = SnapshotCodec.decode(file, "state-v3.bin");

        SnapshotConfig c = s.config();
        assertThat(c.name()).isEqualTo("fixture-vm");
        assertThat(c.cmdline()).isEqualTo("console=ttyS0 reboot=k panic=1");
        assertThat(c.memoryBytes()).isEqualTo(128L << 20);
        assertThat(c.vcpus()).isEqualTo(2);
        assertThat(c.mergeableMemory()).isTrue();
        assertThat(c.balloonStatsMillis()).isEqualTo(5000);
        assertThat(c.entropy()).isTrue();
        assertThat(c.volumeSlots()).isEqualTo(1);
        assertThat(c.disks()).containsExactly(
                new SnapshotConfig.Disk("/var/lib/stratus/disks/root.qcow2", false, "root"),
                new SnapshotConfig.Disk("/var/lib/stratus/disks/config.iso", true, "config"));
        assertThat(c.nets()).containsExactly(new SnapshotConfig.Net("tap-fx0", "fa:16:3e:00:00:01"));

        GuestState g = s.state();
        assertThat(g.vcpus()).extracting(VcpuState::id).containsExactly(0, 1);
        VcpuState second = g.vcpus().get(1);
        assertThat(second.regs().rax()).isEqualTo(0x2001);
        assertThat(second.regs().rip()).isEqualTo(0x100001);
        assertThat(second.sregs().cr0()).isEqualTo(0x80050033L);
        assertThat(second.sregs().tr().base()).isEqualTo(0x1000);
        assertThat(second.sregs().ldt().unusable()).isEqualTo(1);
        assertThat(second.sregs().interruptBitmap()).containsExactly(1, 0, 1L << 63, 0);
        assertThat(second.fpu()).hasSize(416);
        assertThat(second.msrs()).containsExactly(new MsrEntry(0x10, 12346), new MsrEntry(0xc0000080, 0x500));
        assertThat(second.lapic()).containsExactly(9, 8, 7, 1);
        assertThat(second.debugRegs()).isEmpty();
        assertThat(g.machine().irqchips()).hasSize(3);
        assertThat(g.machine().pit()).containsExactly(7, 7, 7, 7);
        assertThat(g.machine().clockNanos()).isEqualTo(123_456_789_000L);
        assertThat(g.serial().lcr()).isEqualTo(3);
        assertThat(g.serial().fifoEnabled()).isTrue();
        assertThat(g.serial().pendingInput()).containsExactly('l', 's', '\n');

        List<VirtioTransportState> t = g.transports();
        assertThat(t).hasSize(5);
        assertThat(t.get(0).queues()).containsExactly(
                new VirtQueueState(256, true, 0x7000_0000L, 0x7000_1000L, 0x7000_2000L, true, 17, 16));
        assertThat(t.get(1).queues().get(1).nextAvail()).isEqualTo(65535);
        assertThat(BalloonState.decode(t.get(2).deviceState())).isEqualTo(new BalloonState(1024, 512));
        assertThat(VolumeSlotState.decode(t.get(3).deviceState())).isEqualTo(new VolumeSlotState(
                Optional.of(new NbdVolume("vol1", "10.0.0.1:10809", "vol1", false)), 1L << 30));
        assertThat(t.get(4).deviceState()).isEmpty();

        assertThat(c.disks()).extracting(SnapshotConfig.Disk::volume).containsOnly(VolumeSlotState.EMPTY);
        assertThat(SnapshotCodec.encode(s)).as("the same bytes, with format 4's empty volume records")
                .isEqualTo(asFormat4(file));
    }

    /** A format 3 file as format 4 writes it: the version, and an empty volume record after each disk's serial. */
    private static byte[] asFormat4(byte[] v3) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] empty = VolumeSlotState.EMPTY.encode();
        byte[] record = java.nio.ByteBuffer.allocate(4 + empty.length).putInt(empty.length).put(empty).array();
        // The fixture's serials as written: a 2-byte length, then the characters.
        List<byte[]> serials = List.of(new byte[] {0, 4, 'r', 'o', 'o', 't'},
                new byte[] {0, 6, 'c', 'o', 'n', 'f', 'i', 'g'});
        int from = 0;
        for (byte[] serial : serials) {
            int at = indexOf(v3, serial, from) + serial.length;
            out.write(v3, from, at - from);
            out.write(record, 0, record.length);
            from = at;
        }
        out.write(v3, from, v3.length - 4 - from);
        byte[] v4 = java.util.Arrays.copyOf(out.toByteArray(), out.size() + 4);
        java.nio.ByteBuffer.wrap(v4).putInt(8, 4);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(v4, 0, v4.length - 4);
        java.nio.ByteBuffer.wrap(v4).putInt(v4.length - 4, (int) crc.getValue());
        return v4;
    }

    private static int indexOf(byte[] in, byte[] what, int from) {
        for (int i = from; i + what.length <= in.length; i++) {
            if (java.util.Arrays.equals(in, i, i + what.length, what, 0, what.length)) {
                return i;
            }
        }
        throw new AssertionError("not in the fixture");
    }

    @Test
    void theDeviceRecordsEncodeAsTheOldDevicesDid() throws IOException {
        VmSnapshot s = SnapshotCodec.decode(resource("state-v3.bin"), "state-v3.bin");
        List<VirtioTransportState> t = s.state().transports();
        assertThat(BalloonState.decode(t.get(2).deviceState()).encode()).isEqualTo(t.get(2).deviceState());
        assertThat(VolumeSlotState.decode(t.get(3).deviceState()).encode()).isEqualTo(t.get(3).deviceState());
    }

    @Test
    void formats2And1ReadWithTheFieldsTheyLackedAtTheirDefaults() throws IOException {
        VmSnapshot v3 = SnapshotCodec.decode(resource("state-v3.bin"), "state-v3.bin");
        VmSnapshot v2 = SnapshotCodec.decode(resource("state-v2.bin"), "state-v2.bin");
        VmSnapshot v1 = SnapshotCodec.decode(resource("state-v1.bin"), "state-v1.bin");

        assertThat(v2.config().entropy()).isTrue();
        assertThat(v2.config().volumeSlots()).isZero();
        assertThat(v1.config().entropy()).isFalse();
        assertThat(v1.config().volumeSlots()).isZero();
        for (VmSnapshot old : List.of(v2, v1)) {
            assertThat(old.config().disks()).isEqualTo(v3.config().disks());
            assertThat(old.config().balloonStatsMillis()).isEqualTo(5000);
            assertThat(old.config().disks()).extracting(SnapshotConfig.Disk::volume)
                    .containsOnly(VolumeSlotState.EMPTY);
            // The machine state is the same body: written again, it is the same bytes as format 3's.
            VmSnapshot asV3 = new VmSnapshot(v3.config(), old.state());
            assertThat(SnapshotCodec.encode(asV3)).isEqualTo(asFormat4(resource("state-v3.bin")));
        }
    }
}
