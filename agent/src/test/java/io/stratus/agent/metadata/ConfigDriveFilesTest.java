package io.stratus.agent.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ConfigDriveFilesTest {
    static String listing(String... pathsAndContents) {
        StringBuilder s = new StringBuilder("{\"files\": [");
        for (int i = 0; i < pathsAndContents.length; i += 2) {
            s.append(i == 0 ? "" : ", ").append("{\"path\": \"").append(pathsAndContents[i]).append("\", \"content\": \"")
                    .append(Base64.getEncoder().encodeToString(pathsAndContents[i + 1].getBytes(StandardCharsets.UTF_8)))
                    .append("\"}");
        }
        return s.append("]}").toString();
    }

    private static ConfigDriveFiles parse(String json) throws ConfigDriveFiles.InvalidException {
        return ConfigDriveFiles.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aListingGivesItsFilesDecoded() throws Exception {
        var files = parse(listing("openstack/latest/meta_data.json", "{\"uuid\": \"x\"}",
                "openstack/latest/user_data", "#cloud-config\n", "ec2/latest/meta-data.json", "{}"));
        assertThat(files.files()).extracting(ConfigDriveFiles.File::path).containsExactly(
                "openstack/latest/meta_data.json", "openstack/latest/user_data", "ec2/latest/meta-data.json");
        assertThat(new String(files.files().get(1).content(), StandardCharsets.UTF_8)).isEqualTo("#cloud-config\n");
        assertThat(parse("{\"files\": []}").files()).isEmpty();
    }

    @Test
    void pathsThatLeaveTheDriveOrAreNotPlainAreRefused() {
        for (String path : new String[] {"../etc/passwd", "openstack/../../x", "/etc/passwd", "a//b", "a/./b", ".",
                "openstack/latest/", "", "a\\\\b", "a\\u0000b", "a\\nb", "x".repeat(256)}) {
            assertThatThrownBy(() -> parse(listing(path, "x"))).as(path)
                    .isInstanceOf(ConfigDriveFiles.InvalidException.class).hasMessageContaining("config drive path");
        }
    }

    @Test
    void aPathTwiceOrAsFileAndDirectoryIsRefused() {
        assertThatThrownBy(() -> parse(listing("a/b", "1", "a/b", "2"))).hasMessageContaining("listed twice");
        assertThatThrownBy(() -> parse(listing("a/b", "1", "a/b/c", "2"))).hasMessageContaining("both a file and");
        assertThatThrownBy(() -> parse(listing("a/b/c", "1", "a", "2"))).hasMessageContaining("both a file and");
    }

    @Test
    void listingsBeyondTheBoundsAreRefused() {
        String many = IntStream.range(0, ConfigDriveFiles.MAX_FILES + 1).mapToObj(i -> "f" + i + "\", \"content\": \"")
                .map(p -> "{\"path\": \"" + p + "\"}").collect(Collectors.joining(", ", "{\"files\": [", "]}"));
        assertThatThrownBy(() -> parse(many)).hasMessageContaining("at most " + ConfigDriveFiles.MAX_FILES);
        String big = "x".repeat((int) (ConfigDriveFiles.MAX_BYTES / 2) + 1);
        assertThatThrownBy(() -> parse(listing("a", big, "b", big))).hasMessageContaining("more than");
    }

    @Test
    void whatIsNotAListingIsRefused() {
        assertThatThrownBy(() -> parse("not json")).hasMessageContaining("not JSON");
        assertThatThrownBy(() -> parse("{}")).hasMessageContaining("no \"files\"");
        assertThatThrownBy(() -> parse("[]")).hasMessageContaining("no \"files\"");
        assertThatThrownBy(() -> parse("{\"files\": [{\"path\": 3, \"content\": \"\"}]}"))
                .hasMessageContaining("without a text");
        assertThatThrownBy(() -> parse("{\"files\": [{\"path\": \"a\", \"content\": \"!!\"}]}"))
                .hasMessageContaining("not base64");
    }
}
