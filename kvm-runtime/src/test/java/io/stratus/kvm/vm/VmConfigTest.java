package io.stratus.kvm.vm;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.testing.TestGuests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Configurations the VMM refuses before it opens KVM: these run on any host. */
class VmConfigTest {

    @Test
    void vcpusAndMemoryOutsideTheLimitsFailBeforeKvmIsOpened(@TempDir Path dir) throws IOException {
        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "not a kernel");
        assertThatThrownBy(() -> VmConfig.builder(text).vcpus(0).build()).isInstanceOf(VmConfigException.class)
                .hasMessageContaining("1 to 254 vCPUs");
        assertThatThrownBy(() -> VmConfig.builder(text).memoryMiB(4).build()).isInstanceOf(VmConfigException.class)
                .hasMessageContaining("at least 16 MiB");
        assertThatThrownBy(() -> VirtualMachine.create(VmConfig.builder(TestGuests.image("hello.elf"))
                .memoryBytes(1L << 50).build(), new ConsoleBuffer(16)))
                .isInstanceOf(VmConfigException.class).hasMessageContaining("more than this host can give");
    }
}
