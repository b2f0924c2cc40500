package io.stratus.scheduler.api.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.api.ApiException;
import io.stratus.scheduler.volume.BlockDeviceMapping;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A create's {@code block_device_mapping_v2} read as Nova's schema, {@code BlockDeviceDict.from_api}
 * and boot sequence check read it, including what Debian's openstack client sends for
 * {@code --volume} and {@code --boot-from-volume}.
 */
class BlockDeviceMappingsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode server(String json) {
        try {
            return JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static String refusal(String json, boolean imageGiven) {
        ApiException e = (ApiException) org.assertj.core.api.Assertions.catchThrowable(() ->
                BlockDeviceMappings.read(server(json), imageGiven));
        assertThat(e).as("refused: " + json).isNotNull();
        assertThat(e.status()).isEqualTo(400);
        return e.getMessage();
    }

    @Test
    void readsTheOpenstackClientsVolumeBoot() {
        // openstack server create --volume V: boot_index as a string, no delete_on_termination.
        BlockDeviceMappings m = BlockDeviceMappings.read(server("""
                {"block_device_mapping_v2": [{"uuid": "vol-1", "boot_index": "0", "source_type": "volume",
                  "destination_type": "volume"}]}"""), false);

        assertThat(m.volumeRoot()).isTrue();
        assertThat(m.volumes()).containsExactly(new BlockDeviceMapping(BlockDeviceMapping.Source.VOLUME, "vol-1", 0,
                Optional.empty(), false, Optional.empty(), Optional.empty()));
    }

    @Test
    void readsTheOpenstackClientsBootFromVolumeOfAnImageWithExtrasAfterTheRoot() {
        // openstack server create --image I --boot-from-volume 1, and a data volume listed first.
        BlockDeviceMappings m = BlockDeviceMappings.read(server("""
                {"imageRef": "", "block_device_mapping_v2": [
                  {"uuid": "vol-data", "source_type": "volume", "destination_type": "volume", "boot_index": -1},
                  {"uuid": "img-1", "boot_index": "0", "source_type": "image", "destination_type": "volume",
                   "volume_size": 1, "delete_on_termination": "true"}]}"""), false);

        assertThat(m.volumeRoot()).isTrue();
        assertThat(m.volumes()).extracting(BlockDeviceMapping::uuid).containsExactly("img-1", "vol-data");
        assertThat(m.volumes().get(0)).isEqualTo(new BlockDeviceMapping(BlockDeviceMapping.Source.IMAGE, "img-1", 0,
                Optional.of(1), true, Optional.empty(), Optional.empty()));
    }

    @Test
    void anImageBootMayAttachVolumesAndNameItsOwnRootAsImageToLocal() {
        BlockDeviceMappings withExtra = BlockDeviceMappings.read(server("""
                {"block_device_mapping_v2": [{"uuid": "snap-1", "source_type": "snapshot",
                  "destination_type": "volume", "delete_on_termination": true}]}"""), true);
        assertThat(withExtra.volumeRoot()).isFalse();
        assertThat(withExtra.volumes()).extracting(BlockDeviceMapping::source, BlockDeviceMapping::bootIndex)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(BlockDeviceMapping.Source.SNAPSHOT, -1));

        BlockDeviceMappings imageRoot = BlockDeviceMappings.read(server("""
                {"block_device_mapping_v2": [{"uuid": "img-1", "source_type": "image", "destination_type": "local",
                  "boot_index": 0}]}"""), true);
        assertThat(imageRoot).isEqualTo(BlockDeviceMappings.NONE);
        assertThat(BlockDeviceMappings.read(server("{\"block_device_mapping_v2\": []}"), true))
                .isEqualTo(BlockDeviceMappings.NONE);
    }

    @Test
    void refusesWhatNovaRefusesWithItsMessages() {
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"source_type": "volume", "destination_type": "volume",
                  "boot_index": 0}]}""", false)).isEqualTo("Block Device Mapping is Invalid: Missing device UUID.");
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"uuid": "vol-1", "source_type": "volume", "boot_index": 1}]}""",
                false)).isEqualTo("Block Device Mapping is Invalid: Boot sequence for the instance and"
                + " image/block device mapping combination is not valid.");
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"uuid": "vol-1", "source_type": "volume", "boot_index": -1}]}""",
                false)).as("no root at all").contains("Boot sequence");
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"uuid": "vol-1", "source_type": "volume", "boot_index": 0},
                  {"uuid": "vol-2", "source_type": "volume", "boot_index": 0}]}""", false))
                .as("two roots").contains("Boot sequence");
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"uuid": "img-1", "source_type": "image", "destination_type": "local",
                  "boot_index": 0}]}""", false)).isEqualTo("Block Device Mapping is Invalid: Mapping image to local"
                + " is not supported.");
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"uuid": "vol-1", "source_type": "volume", "boot_index": 0,
                  "volume_type": "fast"}]}""", false)).isEqualTo("Block Device Mapping is Invalid: Specifying"
                + " volume type to existing volume is not supported.");
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"uuid": "x", "source_type": "blank", "boot_index": -1}]}""", true))
                .isEqualTo("Block Device Mapping is Invalid: Invalid device UUID.");
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"uuid": "vol-1", "source_type": "volume", "boot_index": 0,
                  "bogus": 1}]}""", false)).contains("Additional properties are not allowed ('bogus' was unexpected)");
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"uuid": "vol-1", "source_type": "tape", "boot_index": 0}]}""",
                false)).contains("source_type");
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"uuid": "i", "source_type": "image", "destination_type": "volume",
                  "boot_index": 0, "volume_size": 0}]}""", false)).contains("volume_size");
        assertThat(refusal("""
                {"block_device_mapping_v2": {"uuid": "vol-1"}}""", false)).contains("is not of type 'array'");
        assertThat(refusal("""
                {"block_device_mapping": [{"volume_id": "v", "device_name": "vda"}],
                 "block_device_mapping_v2": [{"uuid": "vol-1", "source_type": "volume", "boot_index": 0}]}""",
                false)).isEqualTo("Using different block_device_mapping syntaxes is not allowed in the same"
                + " request.");
    }

    @Test
    void refusesWhatThisCloudCannotHonourRatherThanDroppingIt() {
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"source_type": "blank", "destination_type": "local",
                  "guest_format": "swap", "volume_size": 1, "boot_index": -1}]}""", true)).contains("not supported");
        assertThat(refusal("""
                {"block_device_mapping_v2": [{"uuid": "vol-1", "source_type": "volume", "boot_index": 0,
                  "disk_bus": "scsi"}]}""", false)).contains("disk_bus");
        assertThat(refusal("""
                {"block_device_mapping": [{"volume_id": "v", "device_name": "vda"}]}""", false))
                .contains("legacy");
        assertThatThrownBy(() -> BlockDeviceMappings.read(server("""
                {"block_device_mapping_v2": [{"uuid": "vol-1", "source_type": "volume", "boot_index": 0,
                  "tag": "db"}]}"""), false)).hasMessageContaining("tags");
    }

    /** A volume-backed server's image as Nova's snapshot_volume_backed writes it: its root and a data volume. */
    private static final String NOVA_IMAGE_BDM = "[{\"source_type\": \"snapshot\", \"destination_type\": \"volume\","
            + " \"snapshot_id\": \"snap-root\", \"disk_bus\": \"virtio\", \"device_type\": \"disk\", \"boot_index\": 0,"
            + " \"delete_on_termination\": true, \"volume_size\": 2, \"device_name\": \"/dev/vda\", \"guest_format\": null,"
            + " \"volume_id\": null, \"image_id\": null, \"no_device\": null, \"tag\": null, \"volume_type\": null},"
            + " {\"source_type\": \"snapshot\", \"destination_type\": \"volume\", \"snapshot_id\": \"snap-data\","
            + " \"boot_index\": null, \"delete_on_termination\": false, \"volume_size\": 1, \"device_name\": \"/dev/vdb\"}]";

    @Test
    void anImageOfAVolumeBackedServerBootsItsRootAndDataVolumesFromItsSnapshots() {
        BlockDeviceMappings m = BlockDeviceMappings.ofImage(Map.of("block_device_mapping", NOVA_IMAGE_BDM,
                "bdm_v2", "True", "root_device_name", "/dev/vda"), BlockDeviceMappings.NONE).orElseThrow();

        assertThat(m.volumeRoot()).isTrue();
        assertThat(m.volumes()).containsExactly(
                new BlockDeviceMapping(BlockDeviceMapping.Source.SNAPSHOT, "snap-root", 0, Optional.of(2), true,
                        Optional.of("/dev/vda"), Optional.empty()),
                new BlockDeviceMapping(BlockDeviceMapping.Source.SNAPSHOT, "snap-data", -1, Optional.of(1), false,
                        Optional.of("/dev/vdb"), Optional.empty()));
    }

    @Test
    void theRequestsOwnVolumesJoinTheImagesAndTakeTheirDevices() {
        BlockDeviceMappings requested = BlockDeviceMappings.read(server("""
                {"imageRef": "img", "block_device_mapping_v2": [{"uuid": "vol-mine", "source_type": "volume",
                  "destination_type": "volume", "device_name": "/dev/vdb"}]}"""), true);

        BlockDeviceMappings m = BlockDeviceMappings.ofImage(Map.of("block_device_mapping", NOVA_IMAGE_BDM,
                "bdm_v2", "True"), requested).orElseThrow();

        assertThat(m.volumes()).extracting(BlockDeviceMapping::uuid).containsExactly("snap-root", "vol-mine");
    }

    @Test
    void anImageWithoutSnapshotsOrARequestWithItsOwnRootBootsTheImageAsItIs() {
        assertThat(BlockDeviceMappings.ofImage(Map.of("hw_watchdog_action", "reset"), BlockDeviceMappings.NONE))
                .isEmpty();
        assertThat(BlockDeviceMappings.ofImage(Map.of("block_device_mapping", NOVA_IMAGE_BDM),
                BlockDeviceMappings.NONE)).as("a legacy mapping (no bdm_v2)").isEmpty();
        BlockDeviceMappings ownRoot = BlockDeviceMappings.read(server("""
                {"block_device_mapping_v2": [{"uuid": "vol-1", "boot_index": 0, "source_type": "volume",
                  "destination_type": "volume"}]}"""), false);
        assertThat(BlockDeviceMappings.ofImage(Map.of("block_device_mapping", NOVA_IMAGE_BDM, "bdm_v2", "True"),
                ownRoot)).isEmpty();
    }

    @Test
    void anImageMappingOtherThanAVolumeSnapshotIsRefused() {
        assertThatThrownBy(() -> BlockDeviceMappings.ofImage(Map.of("bdm_v2", "True", "block_device_mapping",
                "[{\"source_type\": \"blank\", \"destination_type\": \"local\", \"boot_index\": -1}]"),
                BlockDeviceMappings.NONE)).isInstanceOf(ApiException.class)
                .hasMessageStartingWith("Block Device Mapping is Invalid: the image maps");
    }
}
