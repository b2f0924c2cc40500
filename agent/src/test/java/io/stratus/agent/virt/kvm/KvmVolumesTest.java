package io.stratus.agent.virt.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.agent.virt.DriverCapabilities;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.NbdExport;
import io.stratus.kvm.virtio.block.NbdVolume;
import io.stratus.kvm.virtio.block.VirtioBlock;
import io.stratus.kvm.virtio.block.VolumeSlotState;
import io.stratus.kvm.vm.DiskConfig;
import io.stratus.kvm.vm.VmConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What the kvm driver hands kvm-runtime for volumes (the guests themselves need /dev/kvm: KvmVolumesIT). */
class KvmVolumesTest {
    private static final String ID = "0f4c6a8e-7b1d-4e2a-9c3f-5d6e7f8091a2";

    private static GuestSpec spec(List<GuestSpec.Volume> volumes, int slots) {
        return new GuestSpec("i-1", Path.of("/tmp/i-1"), Path.of("/k"), Optional.empty(), "", 1, 64, List.of(),
                List.of(), false, volumes, slots, false);
    }

    private static GuestSpec.Volume volume(String uri, boolean readOnly, boolean boot) {
        return new GuestSpec.Volume(ID, "att-1", NbdExport.parse(uri), readOnly, boot);
    }

    @Test
    void exportsBecomeTheSlotsVolumesOverUnixSocketsOrTcp() {
        NbdVolume unix = KvmVolumes.nbdVolume(volume("nbd+unix:///vol?socket=/run/v.sock", true, false));
        assertThat(unix).isEqualTo(new NbdVolume(ID, "unix:/run/v.sock", "vol", true));
        assertThat(unix.serial()).isEqualTo(ID.substring(0, 20));
        NbdVolume tcp = KvmVolumes.nbdVolume(volume("nbd://[fd00::2]:10810/vols/a", false, false));
        assertThat(tcp).isEqualTo(new NbdVolume(ID, "[fd00::2]:10810", "vols/a", false));
    }

    @Test
    void aBootVolumeIsTheFirstDiskOnItsExportWithTheVolumeIdAsSerialAndTheSlotsComeAfter() {
        VmConfig plain = KvmDriver.config(spec(List.of(volume("nbd://10.0.0.2/vol", false, false)), 4));
        assertThat(plain.volumeSlots()).isEqualTo(4);
        assertThat(plain.disks()).isEmpty();

        GuestSpec.Volume boot = new GuestSpec.Volume(ID, "att-root", NbdExport.parse("nbd://10.0.0.2:10810/root"),
                false, true);
        GuestSpec withDisk = new GuestSpec("i-1", Path.of("/tmp/i-1"), Path.of("/k"), Optional.empty(), "", 1, 64,
                List.of(new GuestSpec.Disk(Path.of("/tmp/i-1/config.iso"), GuestSpec.Format.RAW, true)), List.of(),
                false, List.of(boot, volume("nbd://10.0.0.2/data", false, false)), 3, false);
        VmConfig c = KvmDriver.config(withDisk);
        assertThat(c.disks()).hasSize(2);
        DiskConfig root = c.disks().get(0);
        assertThat(root.volume()).contains(new NbdVolume(ID, "10.0.0.2:10810", "root", false));
        assertThat(root.id()).as("the serial: the volume id's first 20 characters").isEqualTo(ID.substring(0, 20));
        assertThat(root.readOnly()).isFalse();
        assertThat(c.disks().get(1).onNbd()).isFalse();
        assertThat(c.disks().get(1).path()).isEqualTo(Path.of("/tmp/i-1/config.iso"));
        assertThat(c.volumeSlots()).as("the boot volume takes no slot").isEqualTo(3);
    }

    /** A slot as a migration's stream restores it: holding {@code id}'s volume (its server need not answer here). */
    private static VirtioBlock restoredSlot(String id) {
        VirtioBlock slot = VirtioBlock.volumeSlot("vd", 1, Duration.ofMillis(200));
        slot.restore(new VolumeSlotState(Optional.of(NbdVolume.unix(id, "/nonexistent/stratus-test.sock", "v",
                false)), 1 << 20));
        return slot;
    }

    private static GuestSpec.Volume volume(String id, String attachment) {
        return new GuestSpec.Volume(id, attachment, NbdExport.parse("nbd://10.0.0.2/" + id), false, false);
    }

    @Test
    void anArrivingGuestsSlotsMustHoldTheVolumesTheSourcesLayoutNames() {
        List<VirtioBlock> slots = List.of(VirtioBlock.volumeSlot("vd0", 1, Duration.ofMillis(200)),
                restoredSlot("vol-b"));
        try {
            assertThat(KvmVolumes.adopted(slots, "i-1", List.of(Optional.empty(), Optional.of(volume("vol-b",
                    "att-b"))))).isEqualTo(Map.of("att-b", 1));
            assertThatThrownBy(() -> KvmVolumes.adopted(slots, "i-1", List.of(Optional.of(volume("vol-b", "att-b")),
                    Optional.empty()))).isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.code())
                    .isEqualTo("InvalidVolumes")).hasMessageContaining("slot 0 arrived holding nothing");
            assertThatThrownBy(() -> KvmVolumes.adopted(slots, "i-1", List.of(Optional.empty(),
                    Optional.of(volume("vol-c", "att-c"))))).isInstanceOf(HypervisorException.class)
                    .hasMessageContaining("holding volume vol-b, the source said volume vol-c");
            assertThatThrownBy(() -> KvmVolumes.adopted(slots, "i-1", List.of(Optional.empty())))
                    .isInstanceOf(HypervisorException.class).hasMessageContaining("2 volume slots");
        } finally {
            slots.forEach(VirtioBlock::closeVolume);
        }
    }

    @Test
    void theDriverSaysItAttachesVolumesAndMovesThemLive() {
        assertThat(KvmDriver.capabilities("6.1").traits()).contains(DriverCapabilities.Traits.VOLUME_ATTACH,
                DriverCapabilities.Traits.LIVE_MIGRATION, DriverCapabilities.Traits.LIVE_MIGRATION_VOLUMES);
    }

    @Test
    void theHellosLayoutNamesEachSlotsAttachmentAndLeavesTheRestEmpty() {
        Map<String, Integer> attachments = Map.of("att-a", 0, "att-b", 2);
        assertThat(KvmVolumes.layout(attachments, 3, List.of("att-a", "att-b"))).containsExactly("att-a", "", "att-b");
        assertThat(KvmVolumes.layout(attachments, 3, List.of("att-b"))).as("an attachment the record no longer has")
                .containsExactly("", "", "att-b");
        assertThat(KvmVolumes.layout(Map.of(), 2, List.of())).containsExactly("", "");
    }
}
