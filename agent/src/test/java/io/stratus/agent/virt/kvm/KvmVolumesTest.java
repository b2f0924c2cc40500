package io.stratus.agent.virt.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.NbdExport;
import io.stratus.kvm.virtio.block.NbdVolume;
import io.stratus.kvm.vm.VmConfig;
import java.nio.file.Path;
import java.util.List;
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
    void theGuestGetsTheSpecsSlotsAndABootVolumeIsRefused() {
        VmConfig c = KvmDriver.config(spec(List.of(volume("nbd://10.0.0.2/vol", false, false)), 4));
        assertThat(c.volumeSlots()).isEqualTo(4);
        assertThat(c.disks()).isEmpty();
        assertThatThrownBy(() -> KvmDriver.config(spec(List.of(volume("nbd://10.0.0.2/vol", false, true)), 4)))
                .isInstanceOfSatisfying(HypervisorException.class, e -> assertThat(e.code()).isEqualTo("NotSupported"));
    }
}
