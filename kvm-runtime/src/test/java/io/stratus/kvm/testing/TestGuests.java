package io.stratus.kvm.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

/** The tiny test guests that the build compiles from guests/ at the top of the project. */
public final class TestGuests {
    private TestGuests() {
    }

    /** The image {@code name} (for example {@code hello.elf}), failing clearly if the build did not make it. */
    public static Path image(String name) {
        String dir = System.getProperty("stratus.testGuests", "target/test-guests");
        Path p = Path.of(dir, name);
        assertThat(Files.isRegularFile(p)).as("test guest %s (built by `make -C guests`)", p).isTrue();
        return p;
    }
}
