package io.stratus.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KvmTest {

    @Test
    void aMissingDeviceIsAReasonThatNamesIt(@TempDir Path dir) {
        Path missing = dir.resolve("kvm");
        assertThat(Kvm.unavailableReason(missing)).hasValueSatisfying(reason ->
                assertThat(reason).startsWith("cannot open " + missing + ": "));
    }

    @Test
    void aDeviceThatIsNotKvmIsAReasonAndIsClosedAgain() throws IOException {
        long before = openDescriptors();
        assertThat(Kvm.unavailableReason(Path.of("/dev/null")))
                .hasValueSatisfying(reason -> assertThat(reason).contains("KVM_GET_API_VERSION", "ENOTTY"));
        assertThat(openDescriptors()).isLessThanOrEqualTo(before);
    }

    private static long openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
