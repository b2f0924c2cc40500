package io.stratus.image.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class ImageSchemaTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ImageSchema schema = ImageSchema.glance();

    private static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    @Test
    void theImageSchemaIsGlancesWithItsDefaultCustomPropertiesAndTheFormatsServedHere() {
        ObjectNode doc = schema.image();
        assertThat(doc.path("name").asText()).isEqualTo("image");
        assertThat(doc.path("additionalProperties").path("type").asText()).isEqualTo("string");
        assertThat(doc.path("links").findValuesAsText("rel")).containsExactly("self", "enclosure", "describedby");
        JsonNode p = doc.path("properties");
        assertThat(p.path("status").path("readOnly").asBoolean()).isTrue();
        assertThat(p.path("tags").path("items").path("maxLength").asInt()).isEqualTo(255);
        assertThat(p.path("disk_format").path("enum").toString()).isEqualTo("[null,\"ami\",\"ari\",\"aki\",\"vhd\","
                + "\"vhdx\",\"vmdk\",\"raw\",\"qcow2\",\"vdi\",\"iso\",\"ploop\"]");
        assertThat(p.path("container_format").path("enum").toString()).isEqualTo("[null,\"ami\",\"ari\",\"aki\","
                + "\"bare\",\"ovf\",\"ova\",\"docker\",\"compressed\"]");
        assertThat(p.path("kernel_id").path("is_base").asBoolean(true)).isFalse();
        assertThat(p.path("name").has("is_base")).isFalse();
        assertThat(schema.isBase("min_ram")).isTrue();
        assertThat(schema.isBase("kernel_id")).isFalse();
        assertThat(schema.isBase("os_distro")).isFalse();
        assertThat(schema.isBase("anything")).isFalse();
    }

    @Test
    void theImagesSchemaIsAPageOfImages() {
        ObjectNode doc = schema.images();
        assertThat(doc.path("name").asText()).isEqualTo("images");
        assertThat(doc.path("properties").path("images").path("type").asText()).isEqualTo("array");
        assertThat(doc.path("properties").path("images").path("items")).isEqualTo(schema.image());
        assertThat(doc.path("links").findValuesAsText("rel")).containsExactly("first", "next", "describedby");
    }

    @Test
    void valuesAreCheckedByTypeEnumLengthPatternAndItems() throws Exception {
        schema.check("name", json("null"));
        schema.check("name", json("\"" + "n".repeat(255) + "\""));
        schema.check("min_ram", json("512"));
        schema.check("tags", json("[\"a\", \"b\"]"));
        schema.check("kernel_id", json("\"0b1e7c5e-5f0c-4cf0-9d7c-8a6f8e0d1c2b\""));
        schema.check("my_property", json("\"x\""));
        assertInvalid("name", "\"" + "n".repeat(256) + "\"", "too long");
        assertInvalid("min_ram", "\"512\"", "not of type 'integer'");
        assertInvalid("protected", "\"yes\"", "not of type 'boolean'");
        assertInvalid("visibility", "\"everyone\"", "is not one of");
        assertInvalid("disk_format", "\"floppy\"", "is not one of");
        assertInvalid("tags", "[\"a\", 3]", "not of type 'string'");
        assertInvalid("tags", "\"a\"", "not of type 'array'");
        assertInvalid("kernel_id", "\"not-a-uuid\"", "does not match");
        assertInvalid("cinder_encryption_key_deletion_policy", "\"sometimes\"", "is not one of");
        assertInvalid("my_property", "5", "not of type 'string'");
        assertInvalid("my_property", "null", "not of type 'string'");
    }

    private void assertInvalid(String attribute, String value, String why) throws Exception {
        JsonNode v = json(value);
        assertThatThrownBy(() -> schema.check(attribute, v)).isInstanceOfSatisfying(CatalogException.class, e -> {
            assertThat(e.reason()).isEqualTo(CatalogException.Reason.INVALID);
            assertThat(e.getMessage()).contains(why).contains("'" + attribute + "'");
        });
    }
}
