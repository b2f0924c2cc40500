package io.stratus.kvm.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kvm.devices.SerialState;
import io.stratus.kvm.virtio.VirtioTransportState;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/** The state file's volume slot count (format 3), without KVM: a snapshot's body as the codec writes it. */
class SnapshotCodecVolumeSlotsTest {
    private static VmSnapshot snapshot(int volumeSlots) {
        byte[] slotState = {0x56, 0x53, 0x4c, 0x31, 0};
        return new VmSnapshot(new SnapshotConfig("vm", "/kernel", "console=ttyS0", 16L << 20, 0, false, 0, false,
                volumeSlots, List.of(), List.of()),
                new GuestState(List.of(), new MachineState(List.of(), new byte[0], 0),
                        new SerialState(0, 0, 0, 0, 0, 0, false, false, new byte[0]),
                        List.of(new VirtioTransportState(0, 0, 0, 0, 0, 0, false, List.of(), slotState))));
    }

    @Test
    void theSlotCountAndEachSlotsStateGoThroughTheFile() {
        VmSnapshot back = SnapshotCodec.decode(SnapshotCodec.encode(snapshot(3)), "test");
        assertThat(back.config().volumeSlots()).isEqualTo(3);
        assertThat(back.state().transports().get(0).deviceState()).containsExactly(0x56, 0x53, 0x4c, 0x31, 0);
    }

    @Test
    void aFormat2FileHasNoSlots() {
        byte[] current = SnapshotCodec.encode(snapshot(0));
        // Format 2 is format 3 without the slot count after the entropy flag: find the flag after
        // the three strings, the memory size, the vCPU count, the merge flag and the balloon interval.
        ByteBuffer b = ByteBuffer.wrap(current);
        int at = 12;
        for (int i = 0; i < 3; i++) {
            at += 2 + (b.getShort(at) & 0xffff);
        }
        at += 8 + 4 + 1 + 8 + 1;
        assertThat(b.getInt(at)).as("the slot count").isZero();
        byte[] old = new byte[current.length - 4];
        System.arraycopy(current, 0, old, 0, at);
        System.arraycopy(current, at + 4, old, at, current.length - at - 4);
        ByteBuffer.wrap(old).putInt(8, 2);
        CRC32 crc = new CRC32();
        crc.update(old, 0, old.length - 4);
        ByteBuffer.wrap(old).putInt(old.length - 4, (int) crc.getValue());

        VmSnapshot back = SnapshotCodec.decode(old, "format 2");
        assertThat(back.config().volumeSlots()).isZero();
        assertThat(back.config().cmdline()).isEqualTo("console=ttyS0");
        assertThat(back.state().transports()).hasSize(1);
    }
}
