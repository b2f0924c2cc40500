package io.stratus.kvm.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.devices.SerialState;
import io.stratus.kvm.virtio.block.NbdVolume;
import io.stratus.kvm.virtio.block.VolumeSlotState;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * A disk on an NBD export (a root volume) in the state file (format 4), without KVM: which volume
 * and the capacity the guest knows go through the file, never the data; a file's disk has none;
 * what a hostile file says of the volume is checked.
 */
class SnapshotCodecNbdDiskTest {
    private static final String VOLUME_ID = "0f4c6a8e-7b1d-4e2a-9c3f-5d6e7f8091a2";
    private static final NbdVolume ROOT = NbdVolume.tcp(VOLUME_ID, "10.0.0.1", 10809, "vol-root", false);

    private static VmSnapshot snapshot(List<SnapshotConfig.Disk> disks) {
        return new VmSnapshot(new SnapshotConfig("vm", "/kernel", "console=ttyS0", 16L << 20, 0, false, 0, false, 2,
                disks, List.of()),
                new GuestState(List.of(), new MachineState(List.of(), new byte[0], 0),
                        new SerialState(0, 0, 0, 0, 0, 0, false, false, new byte[0]), List.of()));
    }

    private static SnapshotConfig.Disk root() {
        return new SnapshotConfig.Disk("nbd:vol-root", false, ROOT.serial(),
                new VolumeSlotState(Optional.of(ROOT), 1L << 30));
    }

    @Test
    void aVolumesDiskKeepsWhichVolumeAndItsCapacityAndAFilesDiskNone() {
        byte[] file = SnapshotCodec.encode(snapshot(List.of(root(), new SnapshotConfig.Disk("/d/config.iso", true,
                "config"))));
        assertThat(ByteBuffer.wrap(file).getInt(8)).as("the format").isEqualTo(4);
        List<SnapshotConfig.Disk> disks = SnapshotCodec.decode(file, "test").config().disks();
        assertThat(disks.get(0)).isEqualTo(root());
        assertThat(disks.get(0).volume().volume()).contains(ROOT);
        assertThat(disks.get(0).volume().capacity()).isEqualTo(1L << 30);
        assertThat(disks.get(1)).isEqualTo(new SnapshotConfig.Disk("/d/config.iso", true, "config"));
        assertThat(disks.get(1).volume()).isEqualTo(VolumeSlotState.EMPTY);
    }

    @Test
    void aVolumesDiskMustHaveTheVolumesSerialAndReadOnlyFlagAndASize() {
        assertThatThrownBy(() -> new SnapshotConfig.Disk("x", false, "other", new VolumeSlotState(Optional.of(ROOT),
                1L << 30))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SnapshotConfig.Disk("x", true, ROOT.serial(), new VolumeSlotState(
                Optional.of(ROOT), 1L << 30))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SnapshotConfig.Disk("x", false, ROOT.serial(), new VolumeSlotState(
                Optional.of(ROOT), 0))).isInstanceOf(IllegalArgumentException.class);
    }

    /** {@code file} with {@code from} replaced by {@code to} (same length) and its checksum made right again. */
    private static byte[] patched(byte[] file, String from, String to) {
        byte[] f = file.clone();
        byte[] a = from.getBytes(StandardCharsets.US_ASCII);
        byte[] b = to.getBytes(StandardCharsets.US_ASCII);
        assertThat(b).hasSameSizeAs(a);
        int at = -1;
        for (int i = 0; i + a.length <= f.length && at < 0; i++) {
            if (java.util.Arrays.equals(f, i, i + a.length, a, 0, a.length)) {
                at = i;
            }
        }
        assertThat(at).as(from + " in the file").isNotNegative();
        System.arraycopy(b, 0, f, at, b.length);
        CRC32 crc = new CRC32();
        crc.update(f, 0, f.length - 4);
        ByteBuffer.wrap(f).putInt(f.length - 4, (int) crc.getValue());
        return f;
    }

    @Test
    void aFileWhoseVolumeRecordIsHostileIsAClearErrorNotADisk() {
        byte[] file = SnapshotCodec.encode(snapshot(List.of(root())));
        // The volume's id no longer matches the disk's serial: the file would attach another volume as this disk.
        assertThatThrownBy(() -> SnapshotCodec.decode(patched(file, VOLUME_ID, "1" + VOLUME_ID.substring(1)), "t"))
                .isInstanceOf(SnapshotException.class).hasMessageContaining("malformed");
        // A server that is no address.
        assertThatThrownBy(() -> SnapshotCodec.decode(patched(file, "10.0.0.1:10809", "10.0.0.1:1080x"), "t"))
                .isInstanceOf(SnapshotException.class).hasMessageContaining("malformed");
        // The volume record's own magic broken.
        assertThatThrownBy(() -> SnapshotCodec.decode(patched(file, "VSL1", "VSL9"), "t"))
                .isInstanceOf(SnapshotException.class).hasMessageContaining("malformed");
    }
}
