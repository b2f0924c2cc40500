package io.stratus.agent.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.agent.guest.ConfigDriveException;
import io.stratus.agent.guest.ConfigDrives;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.proto.v1.Boot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Config drives from a stand-in metadata API, written with the real genisoimage. */
class MetadataConfigDrivesTest {
    private static final String VM = "11111111-2222-4333-8444-555555555555";

    @TempDir
    Path dir;
    private StandInControlPlane controlPlane;
    private ConfigDrives drives;

    @BeforeEach
    void start() throws Exception {
        Assumptions.assumeTrue(ConfigDriveIsoTest.runs("genisoimage", "-version")
                        && ConfigDriveIsoTest.runs("isoinfo", "-version"),
                "skipped: genisoimage and isoinfo are not installed (apt-get install genisoimage)");
        controlPlane = new StandInControlPlane("secret", Map.of(VM, "project-a"));
        drives = new MetadataConfigDrives(MetadataRequestsTest.client(controlPlane.root(), "secret"),
                new ConfigDriveIso("genisoimage", Duration.ofSeconds(60)));
    }

    @AfterEach
    void stop() {
        if (controlPlane != null) {
            controlPlane.close();
        }
    }

    private static InstanceRecord instance(boolean configDrive, String tenant) {
        return InstanceRecord.building(VM, tenant, Boot.newBuilder().setName("vm").setConfigDrive(configDrive).build(),
                "request-1");
    }

    @Test
    void aDriveIsMadeOnceFromTheInstancesListingAndUsedAgainAfter() throws Exception {
        controlPlane.driveListing(VM, ConfigDriveFilesTest.listing("openstack/latest/meta_data.json", "{}",
                "openstack/latest/user_data", "#!/bin/sh\n"));
        var disk = drives.drive(instance(true, "project-a"), dir).orElseThrow();
        assertThat(disk).isEqualTo(new GuestSpec.Disk(dir.resolve("config.iso"), GuestSpec.Format.RAW, true));
        assertThat(ConfigDriveIsoTest.isoinfo("-d", "-i", disk.path().toString())).contains("Volume id: config-2");
        assertThat(ConfigDriveIsoTest.isoinfo("-f", "-R", "-i", disk.path().toString()))
                .contains("/openstack/latest/user_data");
        var seen = controlPlane.seen().get(0);
        assertThat(seen.path()).isEqualTo("config-drive");
        assertThat(seen.headers().get("X-tenant-id")).containsExactly("project-a");

        assertThat(drives.drive(instance(true, "project-a"), dir)).contains(disk);
        assertThat(controlPlane.requests()).isEqualTo(1);
        // Gone (the target of a move): made again.
        Files.delete(disk.path());
        assertThat(drives.drive(instance(true, "project-a"), dir)).contains(disk);
        assertThat(controlPlane.requests()).isEqualTo(2);
    }

    @Test
    void anInstanceWithoutConfigDriveGetsNoneAndNothingIsAsked() {
        assertThat(drives.drive(instance(false, "project-a"), dir)).isEmpty();
        assertThat(controlPlane.requests()).isZero();
    }

    @Test
    void aRefusalOrAHostileListingIsAFaultThatLeavesNothing() throws Exception {
        assertThatThrownBy(() -> drives.drive(instance(true, "project-b"), dir))
                .isInstanceOf(ConfigDriveException.class).hasMessageContaining("answered 404");
        controlPlane.driveListing(VM, ConfigDriveFilesTest.listing("openstack/latest/meta_data.json", "{}",
                "../../escape", "x"));
        assertThatThrownBy(() -> drives.drive(instance(true, "project-a"), dir))
                .isInstanceOf(ConfigDriveException.class).hasMessageContaining("'../../escape'")
                .extracting(e -> ((ConfigDriveException) e).code()).isEqualTo("ConfigDriveFailed");
        try (var left = Files.list(dir)) {
            assertThat(left.toList()).isEmpty();
        }
        assertThat(dir.getParent().resolve("escape")).doesNotExist();
    }

    @Test
    void withoutAMetadataApiAskingForADriveIsAClearFault() {
        ConfigDrives none = MetadataService.of(java.util.Optional.empty(), java.util.Optional.empty(),
                dir.resolve("m.sock"), Duration.ofSeconds(1)).configDrives(new ConfigDriveIso("genisoimage",
                Duration.ofSeconds(60)));
        assertThat(none.drive(instance(false, "project-a"), dir)).isEmpty();
        assertThatThrownBy(() -> none.drive(instance(true, "project-a"), dir)).isInstanceOf(ConfigDriveException.class)
                .hasMessageContaining("stratus.agent.metadata.url");
    }
}
