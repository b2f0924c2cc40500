package io.stratus.scheduler.api.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.api.ApiException;
import io.stratus.scheduler.image.Image;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A create's {@code user_data} and {@code config_drive}, and the image's {@code img_config_drive},
 * read as Nova's create schema ({@code schemas/servers.py}) and compute API read them.
 */
class CloudInitFieldsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode server(Object field, Object value) {
        return JSON.valueToTree(Map.of(field, value));
    }

    private static int status(Runnable r) {
        ApiException e = catchThrowableOfType(r::run, ApiException.class);
        return e == null ? 200 : e.status();
    }

    @Test
    void userDataIsBase64OfAtMost65535CharactersKeptAsGiven() {
        assertThat(CloudInitFields.userData(server("user_data", "I2Nsb3VkLWNvbmZpZwo="))).contains(
                "I2Nsb3VkLWNvbmZpZwo=");
        assertThat(CloudInitFields.userData(JSON.createObjectNode())).isEmpty();
        assertThat(CloudInitFields.userData(server("user_data", "I2Nsb3VkLWNvbmZpZw\no="))).as("Python skips it")
                .contains("I2Nsb3VkLWNvbmZpZw\no=");
        for (Object bad : List.of("not base64!", "I2Nsb3VkLWNvbmZpZwo", "A".repeat(65536), 42, List.of("x"))) {
            assertThat(status(() -> CloudInitFields.userData(server("user_data", bad)))).as("%s", bad).isEqualTo(400);
        }
    }

    @Test
    void configDriveTakesNovasBooleans() {
        for (Object yes : List.of(true, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes")) {
            assertThat(CloudInitFields.configDrive(server("config_drive", yes))).as("%s", yes).isTrue();
        }
        for (Object no : List.of(false, "False", "false", "0", "off", "NO")) {
            assertThat(CloudInitFields.configDrive(server("config_drive", no))).as("%s", no).isFalse();
        }
        assertThat(CloudInitFields.configDrive(JSON.createObjectNode())).isFalse();
        for (Object bad : List.of("tRUE", "y", "", 1, "maybe")) {
            assertThat(status(() -> CloudInitFields.configDrive(server("config_drive", bad)))).as("%s", bad)
                    .isEqualTo(400);
        }
    }

    @Test
    void anImageMayMakeTheConfigDriveMandatory() {
        assertThat(CloudInitFields.imageWantsConfigDrive(image(Map.of()))).isFalse();
        assertThat(CloudInitFields.imageWantsConfigDrive(image(Map.of("img_config_drive", "optional")))).isFalse();
        assertThat(CloudInitFields.imageWantsConfigDrive(image(Map.of("img_config_drive", "mandatory")))).isTrue();
        assertThat(status(() -> CloudInitFields.imageWantsConfigDrive(image(Map.of("img_config_drive", "always")))))
                .isEqualTo(400);
    }

    private static Image image(Map<String, String> properties) {
        return new Image("i1", "img", "p1", "public", "active", "raw", "bare", 1, "", 0, 0, "", "", "", properties);
    }

    @Test
    void reservationsAreNovasShape() {
        assertThat(ServersResource.reservationId()).matches("r-[0-9a-z]{8}");
    }
}
