package io.stratus.image.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.stratus.image.catalog.CatalogException.Reason;
import io.stratus.image.store.Image;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ImageEditorTest {
    private static final JsonNodeFactory J = JsonNodeFactory.instance;
    private final ImageEditor editor = new ImageEditor(ImageSchema.glance());
    private final Image queued = image("queued", Map.of("os_distro", "debian"));

    private static Image image(String status, Map<String, String> properties) {
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        return new Image("0b1e7c5e-5f0c-4cf0-9d7c-8a6f8e0d1c2b", "before", "p-1", "private", status, "raw", "bare",
                Optional.empty(), Optional.empty(), 0, 0, false, false, properties, List.of("t1"), t, t);
    }

    private static ImagePatch v21(PatchOperation... ops) {
        return new ImagePatch(true, List.of(ops));
    }

    private static ImagePatch v20(PatchOperation... ops) {
        return new ImagePatch(false, List.of(ops));
    }

    private void refused(ImagePatch patch, Reason reason, String message) {
        refused(queued, patch, false, reason, message);
    }

    private void refused(Image image, ImagePatch patch, boolean admin, Reason reason, String message) {
        assertThatThrownBy(() -> editor.apply(image, patch, admin)).isInstanceOfSatisfying(CatalogException.class,
                e -> {
                    assertThat(e.reason()).isEqualTo(reason);
                    assertThat(e.getMessage()).contains(message);
                });
    }

    @Test
    void replaceAddAndRemoveChangeAttributesAndProperties() {
        Image after = editor.apply(queued, v21(PatchOperation.replace("name", J.textNode("after")),
                PatchOperation.replace("min_ram", J.numberNode(512)), PatchOperation.add("min_disk", J.numberNode(3)),
                PatchOperation.replace("protected", J.booleanNode(true)),
                PatchOperation.replace("os_hidden", J.booleanNode(true)),
                PatchOperation.replace("visibility", J.textNode("community")),
                PatchOperation.replace("disk_format", J.textNode("qcow2")),
                PatchOperation.replace("container_format", J.textNode("ovf")),
                PatchOperation.add("tags", J.arrayNode().add("b").add("a").add("b")),
                PatchOperation.add("hw_cpu_cores", J.textNode("5")),
                PatchOperation.replace("os_distro", J.textNode("ubuntu")),
                PatchOperation.add("architecture", J.textNode("x86_64")), PatchOperation.remove("architecture")),
                false);
        assertThat(after.name()).isEqualTo("after");
        assertThat(after.minRamMib()).isEqualTo(512);
        assertThat(after.minDiskGib()).isEqualTo(3);
        assertThat(after.isProtected()).isTrue();
        assertThat(after.hidden()).isTrue();
        assertThat(after.visibility()).isEqualTo("community");
        assertThat(after.diskFormat()).isEqualTo("qcow2");
        assertThat(after.containerFormat()).isEqualTo("ovf");
        assertThat(after.tags()).containsExactly("a", "b");
        assertThat(after.properties()).containsOnly(Map.entry("hw_cpu_cores", "5"), Map.entry("os_distro", "ubuntu"));
        assertThat(after.id()).isEqualTo(queued.id());
        assertThat(after.status()).isEqualTo("queued");
        assertThat(queued.name()).as("the image given is left as it was").isEqualTo("before");
    }

    @Test
    void addReplacesUnderV21AndConflictsUnderV20() {
        assertThat(editor.apply(queued, v21(PatchOperation.add("os_distro", J.textNode("arch"))), false)
                .properties()).containsEntry("os_distro", "arch");
        assertThat(editor.apply(queued, v21(PatchOperation.add("name", J.textNode("n"))), false).name())
                .isEqualTo("n");
        refused(v20(PatchOperation.add("os_distro", J.textNode("arch"))), Reason.CONFLICT,
                "Property os_distro already present.");
        refused(v20(PatchOperation.add("name", J.textNode("n"))), Reason.CONFLICT, "Property name already present.");
        assertThat(editor.apply(queued, v20(PatchOperation.add("new_one", J.textNode("v"))), false).properties())
                .containsEntry("new_one", "v");
    }

    @Test
    void replacingOrRemovingAMissingPropertyIsAConflictAndAttributesStay() {
        refused(v21(PatchOperation.replace("missing", J.textNode("v"))), Reason.CONFLICT,
                "Property missing does not exist.");
        refused(v21(PatchOperation.remove("missing")), Reason.CONFLICT, "Property missing does not exist.");
        refused(v21(PatchOperation.remove("name")), Reason.FORBIDDEN, "Property name may not be removed.");
        refused(v21(PatchOperation.remove("tags")), Reason.FORBIDDEN, "Property tags may not be removed.");
    }

    @Test
    void readOnlyAndReservedAttributesAreForbiddenBeforeAnythingApplies() {
        for (String a : List.of("id", "status", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
                "created_at", "updated_at", "self", "file", "schema", "direct_url", "stores")) {
            refused(v21(PatchOperation.replace(a, J.textNode("x"))), Reason.FORBIDDEN,
                    "Attribute '" + a + "' is read-only.");
        }
        for (String a : List.of("location", "deleted", "deleted_at", "os_glance_import_task")) {
            refused(v21(PatchOperation.add(a, J.textNode("x"))), Reason.FORBIDDEN, "Attribute '" + a
                    + "' is reserved.");
        }
        refused(v21(PatchOperation.add("locations", J.arrayNode())), Reason.FORBIDDEN, "locations");
        // The conflict comes first in the patch, but the forbidden attribute is found first.
        refused(v21(PatchOperation.remove("missing"), PatchOperation.remove("status")), Reason.FORBIDDEN,
                "read-only");
    }

    @Test
    void valuesMustFitTheSchemaAndTheRanges() {
        refused(v21(PatchOperation.replace("min_ram", J.textNode("512"))), Reason.INVALID, "'integer'");
        refused(v21(PatchOperation.replace("min_ram", J.numberNode(-1))), Reason.INVALID, "Cannot be a negative value");
        refused(v21(PatchOperation.replace("min_disk", J.numberNode(1L << 31))), Reason.INVALID, "at most");
        refused(v21(PatchOperation.replace("protected", J.textNode("true"))), Reason.INVALID, "'boolean'");
        refused(v21(PatchOperation.replace("visibility", J.textNode("everyone"))), Reason.INVALID, "is not one of");
        refused(v21(PatchOperation.replace("disk_format", J.textNode("floppy"))), Reason.INVALID, "is not one of");
        refused(v21(PatchOperation.replace("disk_format", J.nullNode())), Reason.INVALID, "cannot be null");
        refused(v21(PatchOperation.add("my_property", J.numberNode(5))), Reason.INVALID, "'string'");
        refused(v21(PatchOperation.add("my_property", J.textNode("v".repeat(65536)))), Reason.INVALID, "65535");
        // Nova's block_device_mapping of a volume-backed server's image is longer than 255 characters.
        assertThat(editor.apply(queued, v21(PatchOperation.add("block_device_mapping", J.textNode("b".repeat(900)))),
                false).properties().get("block_device_mapping")).hasSize(900);
        PatchOperation[] many = new PatchOperation[3];
        for (int i = 0; i < many.length; i++) {
            many[i] = PatchOperation.add("p" + i, J.textNode("v".repeat(60_000)));
        }
        refused(v21(many), Reason.LIMIT_EXCEEDED, "160000");
        refused(v21(PatchOperation.add("k".repeat(256), J.textNode("v"))), Reason.INVALID,
                "Custom property should not be greater than 255 characters.");
        refused(v21(PatchOperation.add("tags", J.arrayNode().add("t".repeat(256)))), Reason.INVALID, "too long");
        // A null name is no name; a null kernel_id, which its schema allows, is an empty one.
        Image after = editor.apply(queued, v21(PatchOperation.replace("name", J.nullNode()),
                PatchOperation.add("kernel_id", J.nullNode())), false);
        assertThat(after.name()).isEmpty();
        assertThat(after.properties()).containsEntry("kernel_id", "");
    }

    @Test
    void formatsChangeOnlyWhileQueued() {
        Image active = image("active", Map.of());
        refused(active, v21(PatchOperation.replace("disk_format", J.textNode("qcow2"))), true, Reason.FORBIDDEN,
                "Attribute disk_format can be only replaced for a queued image.");
        refused(active, v21(PatchOperation.replace("container_format", J.textNode("bare"))), true, Reason.FORBIDDEN,
                "Attribute container_format can be only replaced for a queued image.");
        assertThat(editor.apply(active, v21(PatchOperation.replace("name", J.textNode("ok"))), false).name())
                .isEqualTo("ok");
    }

    @Test
    void onlyAdminsPublishAndGiveImagesAway() {
        refused(v21(PatchOperation.replace("visibility", J.textNode("public"))), Reason.FORBIDDEN, "Only admins");
        refused(v21(PatchOperation.replace("owner", J.textNode("p-2"))), Reason.FORBIDDEN,
                "Owner can't be updated by non admin.");
        Image given = editor.apply(queued, v21(PatchOperation.replace("visibility", J.textNode("public")),
                PatchOperation.replace("owner", J.textNode("p-2"))), true);
        assertThat(given.visibility()).isEqualTo("public");
        assertThat(given.owner()).isEqualTo("p-2");
        assertThat(editor.apply(queued, v21(PatchOperation.replace("owner", J.textNode("p-1"))), false).owner())
                .isEqualTo("p-1");
        assertThat(editor.apply(queued, v21(PatchOperation.replace("visibility", J.textNode("shared"))), false)
                .visibility()).as("without members, shared is private").isEqualTo("private");
    }

    @Test
    void anImageTakesAtMost128PropertiesAndTags() {
        PatchOperation[] ops = new PatchOperation[128];
        for (int i = 0; i < ops.length; i++) {
            ops[i] = PatchOperation.add("p" + i, J.textNode("v"));
        }
        refused(v21(ops), Reason.LIMIT_EXCEEDED, "Attempted: 129, Maximum: 128");
        ArrayNode tags = J.arrayNode();
        for (int i = 0; i < 129; i++) {
            tags.add("t" + i);
        }
        refused(v21(PatchOperation.replace("tags", tags)), Reason.LIMIT_EXCEEDED, "Attempted: 129, Maximum: 128");
    }
}
