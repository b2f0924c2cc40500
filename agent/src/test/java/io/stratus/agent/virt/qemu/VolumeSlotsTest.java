package io.stratus.agent.virt.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.NbdExport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The QEMU arguments of a guest's volume slots (what QEMU makes of them: {@code VolumesIT}). */
class VolumeSlotsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path DIR = Path.of("/var/lib/stratus/instances/i-1");

    private static GuestSpec spec(List<GuestSpec.Volume> volumes, int slots) {
        return new GuestSpec("i-1", DIR, Path.of("/k"), Optional.empty(), "", 1, 64, List.of(), List.of(), false,
                volumes, slots, false);
    }

    private static GuestSpec.Volume volume(String id, String uri, boolean boot) {
        return new GuestSpec.Volume(id, "att-" + id, NbdExport.parse(uri), false, boot);
    }

    /** The JSON of each {@code -blockdev}, and each {@code -device}, in order. */
    private static List<Object> parsed(List<String> args) throws Exception {
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i += 2) {
            out.add(args.get(i).equals("-blockdev") ? JSON.readTree(args.get(i + 1)) : args.get(i + 1));
        }
        return out;
    }

    @Test
    void theSpecsVolumesFillTheFirstSlotsAndTheOthersReadTheirOwnEmptyFile() throws Exception {
        GuestSpec spec = spec(List.of(volume("0123456789abcdef0123456789", "nbd://10.0.0.7/vol-a", false)), 2);

        List<Object> args = parsed(VolumeSlots.slots(spec, QemuRun.of(DIR)));

        // Slot 0: its empty file, the volume's NBD node, the raw slot over the volume, the disk.
        assertThat(args).hasSize(7);
        JsonNode nbd = (JsonNode) args.get(1);
        assertThat(nbd.path("driver").asText()).isEqualTo("nbd");
        assertThat(nbd.path("server").path("host").asText()).isEqualTo("10.0.0.7");
        assertThat(nbd.path("server").path("port").asText()).isEqualTo("10809");
        assertThat(nbd.path("export").asText()).isEqualTo("vol-a");
        JsonNode slot0 = (JsonNode) args.get(2);
        assertThat(slot0.path("node-name").asText()).isEqualTo("slot0");
        assertThat(slot0.path("file").asText()).isEqualTo(nbd.path("node-name").asText())
                .isEqualTo(VolumeSlots.volumeNode("att-0123456789abcdef0123456789"));
        assertThat((String) args.get(3)).contains("drive=slot0", "serial=0123456789abcdef0123");
        // Slot 1: empty.
        JsonNode empty1 = (JsonNode) args.get(4);
        assertThat(empty1.path("filename").asText()).isEqualTo(VolumeSlots.emptyFile(QemuRun.of(DIR), 1).toString());
        assertThat(((JsonNode) args.get(5)).path("file").asText()).isEqualTo(empty1.path("node-name").asText());
        assertThat((String) args.get(6)).contains("drive=slot1").doesNotContain("serial");
    }

    @Test
    void aBootVolumeIsADiskOfItsOwnOverAUnixSocketExport() throws Exception {
        GuestSpec spec = spec(List.of(volume("root", "nbd+unix:///r?socket=/run/nbd.sock", true)), 0);

        List<Object> args = parsed(VolumeSlots.bootDisk(spec));

        JsonNode nbd = (JsonNode) args.get(0);
        assertThat(nbd.path("server").path("type").asText()).isEqualTo("unix");
        assertThat(nbd.path("server").path("path").asText()).isEqualTo("/run/nbd.sock");
        assertThat((String) args.get(1)).contains("serial=root");
        assertThat(VolumeSlots.slots(spec, QemuRun.of(DIR))).isEmpty();
    }

    @Test
    void aVolumeThatNamesItsSlotFillsItAndTheOthersFillTheFreeOnesInOrder() throws Exception {
        GuestSpec spec = spec(List.of(volume("a", "nbd://10.0.0.7/a", false).inSlot(2),
                volume("b", "nbd://10.0.0.7/b", false)), 3);

        List<Object> args = parsed(VolumeSlots.slots(spec, QemuRun.of(DIR)));

        // Slot 0: empty file, b's node, the slot, the device; slot 1: empty file, slot, device; slot 2 as 0.
        assertThat(((JsonNode) args.get(2)).path("file").asText()).isEqualTo(VolumeSlots.volumeNode("att-b"));
        assertThat(((JsonNode) args.get(5)).path("file").asText()).isEqualTo("empty1");
        assertThat(((JsonNode) args.get(9)).path("file").asText()).isEqualTo(VolumeSlots.volumeNode("att-a"));
        assertThat((String) args.get(10)).contains("drive=slot2", "serial=a");
    }

    @Test
    void aSourcesSlotsPlaceTheVolumesAndOnesTheTargetWasNotGivenAreRefused() {
        GuestSpec spec = spec(List.of(volume("a", "nbd://10.0.0.7/a", false)), 2);

        assertThat(spec.withSlots(List.of("", "att-a")).slotLayout()).extracting(v -> v.map(
                GuestSpec.Volume::volumeId).orElse("")).containsExactly("", "a");
        assertThatThrownBy(() -> spec.withSlots(List.of("att-a", "att-z"))).isInstanceOf(HypervisorException.class)
                .hasMessageContaining("was not given").hasMessageContaining("att-z");
        assertThatThrownBy(() -> spec.withSlots(List.of("", ""))).isInstanceOf(HypervisorException.class)
                .hasMessageContaining("none of the source's slots");
    }

    @Test
    void aVolumesNodeNameIsOneQemuTakesWhateverItsAttachmentId() {
        String node = VolumeSlots.volumeNode("a rather long attachment id, with commas and spaces: 1234567890");

        assertThat(node).matches("[a-zA-Z][a-zA-Z0-9]{0,30}");
        assertThat(VolumeSlots.volumeNode("x")).isNotEqualTo(VolumeSlots.volumeNode("y"));
    }
}
