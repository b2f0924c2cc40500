package io.stratus.agent.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ISO as Nova's flags make it, read back with isoinfo (both from Debian's genisoimage). */
class ConfigDriveIsoTest {
    @TempDir
    Path dir;

    @BeforeEach
    void tools() {
        Assumptions.assumeTrue(runs("genisoimage", "-version") && runs("isoinfo", "-version"),
                "skipped: genisoimage and isoinfo are not installed (apt-get install genisoimage)");
    }

    static boolean runs(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static String isoinfo(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("isoinfo"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    static ConfigDriveFiles files() throws Exception {
        return ConfigDriveFiles.parse(ConfigDriveFilesTest.listing(
                "openstack/latest/meta_data.json", "{\"uuid\": \"11111111-2222-4333-8444-555555555555\"}",
                "openstack/latest/user_data", "#cloud-config\nhostname: a-rather-long-host-name\n",
                "openstack/2012-08-10/meta_data.json", "{}",
                "ec2/latest/meta-data.json", "{}").getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theDriveIsConfig2WithEveryFileUnderItsOwnName() throws Exception {
        Path iso = dir.resolve("config.iso");
        new ConfigDriveIso("genisoimage", Duration.ofSeconds(60)).write(files(), iso);

        assertThat(isoinfo("-d", "-i", iso.toString())).contains("Volume id: config-2", "Rock Ridge signatures",
                "Joliet");
        assertThat(isoinfo("-f", "-R", "-i", iso.toString()).lines().toList()).contains(
                "/openstack/latest/meta_data.json", "/openstack/latest/user_data", "/openstack/2012-08-10/meta_data.json",
                "/ec2/latest/meta-data.json");
        assertThat(isoinfo("-R", "-x", "/openstack/latest/user_data", "-i", iso.toString()))
                .isEqualTo("#cloud-config\nhostname: a-rather-long-host-name\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(iso))).isEqualTo("rw-------");
        // Nothing but the drive is left beside it.
        try (var left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString()).toList()).containsExactly("config.iso");
        }
    }

    @Test
    void aFailedBuildLeavesNothing() throws Exception {
        Path iso = dir.resolve("config.iso");
        assertThatThrownBy(() -> new ConfigDriveIso("false", Duration.ofSeconds(60)).write(files(), iso))
                .isInstanceOf(IOException.class).hasMessageContaining("false failed (1)");
        try (var left = Files.list(dir)) {
            assertThat(left.toList()).isEmpty();
        }
    }
}
