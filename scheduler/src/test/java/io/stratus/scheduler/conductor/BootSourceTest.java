package io.stratus.scheduler.conductor;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.BootSource;
import io.stratus.scheduler.image.Image;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the conductor tells an agent to boot of an image, by the image's kind. */
class BootSourceTest {
    private static final String SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    private static Image image(String id, String diskFormat, String kernelId, String ramdiskId, String cmdline) {
        return new Image(id, id, "p1", "public", "active", diskFormat, "bare", 4096, SHA, 0, 0, kernelId, ramdiskId,
                cmdline, Map.of());
    }

    @Test
    void aKernelImageBootsWithoutADisk() {
        BootSource s = BootRecipe.source(image("k1", "aki", "", "", "stratus.idle"));

        assertThat(s.getKernelImageId()).isEqualTo("k1");
        assertThat(s.getKernelCmdline()).isEqualTo("stratus.idle");
        assertThat(s.getImageId()).isEmpty();
        assertThat(s.getImageSha256()).isEmpty();
    }

    @Test
    void aDiskNamingItsKernelAndRamdiskBootsThemWithTheDisk() {
        BootSource s = BootRecipe.source(image("d1", "raw", "k1", "r1", "root=/dev/vda ro"));

        assertThat(s.getImageId()).isEqualTo("d1");
        assertThat(s.getImageSha256()).isEqualTo(SHA);
        assertThat(s.getKernelImageId()).isEqualTo("k1");
        assertThat(s.getRamdiskImageId()).isEqualTo("r1");
        assertThat(s.getKernelCmdline()).isEqualTo("root=/dev/vda ro");
    }

    @Test
    void anyOtherDiskIsAWholeDiskImageWhoseBootTheAgentFinds() {
        for (String format : new String[] {"raw", "qcow2"}) {
            BootSource s = BootRecipe.source(image("w1", format, "", "", "ignored without a kernel"));

            assertThat(s.getImageId()).as(format).isEqualTo("w1");
            assertThat(s.getImageSha256()).as(format).isEqualTo(SHA);
            assertThat(s.getKernelImageId()).as(format).isEmpty();
            assertThat(s.getRamdiskImageId()).as(format).isEmpty();
            assertThat(s.getKernelCmdline()).as(format).isEmpty();
        }
    }
}
