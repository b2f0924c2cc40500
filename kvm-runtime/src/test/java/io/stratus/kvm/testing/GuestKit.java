package io.stratus.kvm.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

/** The guest kit that `bin/stratus kit` builds; Linux-tier tests need it. */
public final class GuestKit {
    private GuestKit() {
    }

    /** The kit directory: -Dstratus.kit, $STRATUS_KIT_DIR, or ~/.cache/stratus/kit. */
    public static Path dir() {
        String configured = System.getProperty("stratus.kit");
        if (configured == null || configured.isBlank()) {
            configured = System.getenv("STRATUS_KIT_DIR");
        }
        Path dir = configured != null && !configured.isBlank() ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "stratus", "kit");
        assertThat(Files.isRegularFile(dir.resolve("test-kernel/vmlinux")))
                .as("guest kit in %s: run `bin/stratus kit` (bin/stratus test does)", dir).isTrue();
        return dir;
    }

    public static Path file(String relative) {
        Path p = dir().resolve(relative);
        assertThat(Files.isRegularFile(p)).as("kit file %s", p).isTrue();
        return p;
    }
}
