package io.stratus.kvm.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.devices.ConsoleSink;
import io.stratus.kvm.virtio.block.DiskFormat;
import io.stratus.kvm.virtio.block.DiskImageException;
import io.stratus.kvm.virtio.block.NbdVolume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Disks on NBD exports as a VM's configuration names them (no KVM: the build fails before it is needed). */
class DiskConfigTest {
    private static final String VOLUME_ID = "0f4c6a8e-7b1d-4e2a-9c3f-5d6e7f8091a2";

    @Test
    void aVolumesDiskHasTheVolumesSerialAndReadOnlyFlagAndNamesItsExport() {
        DiskConfig root = DiskConfig.nbd(NbdVolume.tcp(VOLUME_ID, "10.0.0.2", 10809, "vol-1", false));
        assertThat(root.onNbd()).isTrue();
        assertThat(root.id()).isEqualTo(VOLUME_ID.substring(0, 20));
        assertThat(root.readOnly()).isFalse();
        assertThat(root.path().toString()).isEqualTo("nbd:10.0.0.2:10809/vol-1");
        assertThat(DiskConfig.nbd(NbdVolume.unix("v", "/run/v.sock", "", true)).readOnly()).isTrue();
        assertThat(DiskConfig.of(Path.of("/var/lib/root.qcow2"), false).onNbd()).isFalse();
    }

    @Test
    void aVolumesDiskWithAnotherSerialOrReadOnlyFlagIsRefused() {
        NbdVolume v = NbdVolume.tcp(VOLUME_ID, "10.0.0.2", 10809, "vol-1", false);
        assertThatThrownBy(() -> new DiskConfig(Path.of("x"), false, "another-serial", DiskFormat.RAW, Optional.of(v)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("serial");
        assertThatThrownBy(() -> new DiskConfig(Path.of("x"), true, v.serial(), DiskFormat.RAW, Optional.of(v)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read-only");
    }

    @Test
    void aVmWhoseRootVolumeIsNotServedIsNotBuiltAndTheErrorNamesTheVolume(@TempDir Path dir) throws Exception {
        Path kernel = Files.write(dir.resolve("vmlinux"), new byte[4096]);
        NbdVolume absent = NbdVolume.unix(VOLUME_ID, dir.resolve("nobody.sock").toString(), "vol", false);
        VmConfig config = VmConfig.builder(kernel).memoryMiB(32).disk(DiskConfig.nbd(absent)).build();
        assertThatThrownBy(() -> VirtualMachine.create(config, ConsoleSink.discard())).isInstanceOf(DiskImageException.class).hasMessageContaining("volume " + VOLUME_ID)
                .hasMessageContaining("cannot be opened");
    }
}
