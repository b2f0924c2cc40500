package io.stratus.agent.virt.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a QEMU run keeps its sockets, and what its log tells a user. */
class QemuRunTest {
    @TempDir
    Path dir;

    @Test
    void anInstanceDirectoryTooDeepForASocketPathGetsAShortSocketDirectoryThatPrepareMakes() throws Exception {
        Path deep = dir.resolve("a".repeat(40)).resolve("instances").resolve("5b9724c0-2dfa-46d5-99d6-08bd2ebacbad");
        QemuRun run = QemuRun.of(deep);
        assertThat(run.consoleSocket().toString().length()).isLessThan(100);
        assertThat(QemuRun.of(deep).socketDir()).as("found again by a restarted agent").isEqualTo(run.socketDir());
        run.prepare();
        assertThat(run.socketDir()).isDirectory();
        assertThat(run.dir()).isDirectory();
        run.clean();
        assertThat(run.socketDir()).doesNotExist();

        QemuRun shallow = QemuRun.of(dir.resolve("i-1"));
        assertThat(shallow.socketDir()).isEqualTo(shallow.dir());
    }

    @Test
    void theLogTailIsQemusOwnWordsNotTheCommandLines() throws Exception {
        QemuRun run = QemuRun.of(dir.resolve("i-1"));
        run.prepare();
        Files.writeString(run.log(), QemuRun.COMMAND_MARK + "2026-12-06T00:00:00Z qemu-system-x86_64 -kernel /k\n"
                + "qemu-system-x86_64: -chardev socket: Failed to bind socket\n");
        assertThat(run.logTail()).isEqualTo("qemu-system-x86_64: -chardev socket: Failed to bind socket");
        assertThat(QemuDriver.faultCode(run.logTail())).isEqualTo("HypervisorError");
        assertThat(QemuDriver.faultCode("qemu-system-x86_64: could not load kernel '/k'"))
                .isEqualTo("ImageNotBootable");
        assertThat(QemuDriver.faultCode("qemu-system-x86_64: -drive id=disk0: Failed to get write lock"))
                .isEqualTo("DiskUnusable");
    }
}
