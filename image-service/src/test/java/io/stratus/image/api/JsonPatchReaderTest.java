package io.stratus.image.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.stratus.api.ApiException;
import io.stratus.image.catalog.ImagePatch;
import io.stratus.image.catalog.PatchOperation;
import org.junit.jupiter.api.Test;

class JsonPatchReaderTest {
    private static final JsonNodeFactory J = JsonNodeFactory.instance;

    private static void badRequest(boolean addReplaces, String body, String message) {
        assertThatThrownBy(() -> JsonPatchReader.read(addReplaces, body)).isInstanceOfSatisfying(ApiException.class,
                e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.getMessage()).contains(message);
                });
    }

    @Test
    void theTwoPatchMediaTypesAreKnownAndNothingElse() {
        assertThat(JsonPatchReader.addReplaces("application/openstack-images-v2.1-json-patch")).contains(true);
        assertThat(JsonPatchReader.addReplaces("application/openstack-images-v2.0-json-patch; charset=UTF-8"))
                .contains(false);
        assertThat(JsonPatchReader.addReplaces("application/json")).isEmpty();
        assertThat(JsonPatchReader.addReplaces(null)).isEmpty();
    }

    @Test
    void rfc6902OperationsAndTheirPointersAreRead() {
        ImagePatch p = JsonPatchReader.read(true, "[{\"op\": \"replace\", \"path\": \"/name\", \"value\": \"n\"},"
                + " {\"op\": \"add\", \"path\": \"/a~1b~0c\", \"value\": \"v\"},"
                + " {\"op\": \"remove\", \"path\": \"/x\"}]");
        assertThat(p.addReplaces()).isTrue();
        assertThat(p.operations()).containsExactly(PatchOperation.replace("name", J.textNode("n")),
                PatchOperation.add("a/b~c", J.textNode("v")), PatchOperation.remove("x"));
    }

    @Test
    void draft4OperationsNameTheirPathByTheirOp() {
        ImagePatch p = JsonPatchReader.read(false, "[{\"replace\": \"/name\", \"value\": \"n\"},"
                + " {\"remove\": \"/x\"}]");
        assertThat(p.addReplaces()).isFalse();
        assertThat(p.operations()).containsExactly(PatchOperation.replace("name", J.textNode("n")),
                PatchOperation.remove("x"));
        badRequest(false, "[{\"replace\": \"/name\", \"add\": \"/name\", \"value\": \"n\"}]", "only one member");
        badRequest(false, "[{\"op\": \"replace\", \"path\": \"/name\", \"value\": \"n\"}]", "exactly one member");
    }

    @Test
    void malformedPatchesAreRefused() {
        badRequest(true, "{\"op\": \"replace\"}", "must be a JSON array");
        badRequest(true, "[\"replace\"]", "Operations must be JSON objects.");
        badRequest(true, "[{\"op\": \"move\", \"path\": \"/name\"}]", "Invalid operation: `move`");
        badRequest(true, "[{\"path\": \"/name\", \"value\": 1}]", "Unable to find `op`");
        badRequest(true, "[{\"op\": \"add\", \"value\": 1}]", "Unable to find 'path'");
        badRequest(true, "[{\"op\": \"add\", \"path\": \"/name\"}]", "requires a member named \"value\"");
        badRequest(true, "[{\"op\": \"add\", \"path\": \"name\", \"value\": 1}]", "does not start with \"/\"");
        badRequest(true, "[{\"op\": \"add\", \"path\": \"/a//b\", \"value\": 1}]", "adjacent");
        badRequest(true, "[{\"op\": \"add\", \"path\": \"/a/\", \"value\": 1}]", "end with \"/\"");
        badRequest(true, "[{\"op\": \"add\", \"path\": \"/a~2\", \"value\": 1}]", "recognized escape");
        badRequest(true, "[{\"op\": \"add\", \"path\": \"/a/b\", \"value\": 1}]", "Invalid JSON pointer");
        badRequest(true, "[{\"op\": \"add\", \"path\": \"/\", \"value\": 1}]", "names no attribute");
        badRequest(true, "[{\"op\": \"add\", \"path\": 7, \"value\": 1}]", "JSON pointer string");
        badRequest(true, "[{\"op\": ", "not valid JSON");
        badRequest(true, "", "Body expected");
    }
}
