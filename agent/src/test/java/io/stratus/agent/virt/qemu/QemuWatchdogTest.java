package io.stratus.agent.virt.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.VirtualGuest;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU's own IB700 on the microvm machine: a guest that arms it and stops feeding it makes QEMU
 * tell QMP (event WATCHDOG) and do nothing more (-action watchdog=none), so that the agent's
 * listener hears the firing while the guest runs on as it was.
 */
class QemuWatchdogTest {
    @TempDir
    Path dir;

    private QemuDriver driver;
    private VirtualGuest guest;

    @BeforeEach
    void setUp() {
        QemuDriver.Result r = QemuDriver.probe("qemu-system-x86_64", dir.resolve("no-kvm"), "tcg",
                OptionalLong.empty());
        assumeTrue(r.driver().isPresent(), "no QEMU here: " + r.reason());
        driver = r.driver().get();
    }

    @AfterEach
    void tearDown() {
        if (guest != null) {
            guest.stop();
        }
    }

    private GuestSpec spec(boolean watchdog) throws Exception {
        Path kernel = Path.of(System.getProperty("stratus.testGuests"), "watchdog.elf");
        return new GuestSpec("i-wd", Files.createDirectories(dir.resolve("i-wd")), kernel, Optional.empty(),
                "wd.index=14", 1, 64, List.of(), List.of(), false, List.of(), 0, watchdog);
    }

    @Test
    void aGuestThatStopsFeedingItsWatchdogIsReportedAndLeftRunning() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        guest = driver.spawn(spec(true), (b, off, len) -> {
            synchronized (console) {
                console.write(b, off, len);
            }
        });
        CountDownLatch fired = new CountDownLatch(1);
        guest.onWatchdog(fired::countDown);

        assertThat(fired.await(120, TimeUnit.SECONDS)).as("the watchdog fired").isTrue();
        synchronized (console) {
            assertThat(console.toString(StandardCharsets.UTF_8)).contains("STRATUS-WATCHDOG-ARMED");
        }
        assertThat(guest.paused()).as("QEMU took no action of its own").isFalse();
    }

    @Test
    void theDeviceIsOnTheCommandLineOnlyWhenTheSpecAsksForIt() throws Exception {
        QemuRun run = QemuRun.of(dir.resolve("i-wd"));

        assertThat(driver.command(spec(true), run, false)).containsSubsequence("-device", "ib700", "-action",
                "watchdog=none");
        assertThat(driver.command(spec(false), run, false)).doesNotContain("ib700");
    }
}
