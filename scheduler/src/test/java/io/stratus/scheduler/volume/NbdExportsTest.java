package io.stratus.scheduler.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stratus.database.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exports served by Debian's qemu-nbd on loopback, read back with qemu-img as an NBD client. */
class NbdExportsTest {
    @TempDir
    Path dir;
    private Database db;
    private VolumePool pool;
    private AttachmentStore attachments;
    private VolumeStore volumes;
    private ScheduledExecutorService restarts;
    private NbdExports exports;
    private NbdExports.Settings settings;

    @BeforeEach
    void setUp() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-nbd")) && Files.isExecutable(Path.of("/usr/bin/qemu-img")),
                "needs Debian's qemu-utils (qemu-nbd, qemu-img)");
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        pool = new VolumePool(dir.resolve("pool"), "qemu-img").open();
        attachments = new AttachmentStore(db.dataSource(), Clock.systemUTC());
        volumes = new VolumeStore(db.dataSource(), Clock.systemUTC());
        restarts = Executors.newSingleThreadScheduledExecutor();
        // A port range of its own, away from the default one a running cloud uses.
        settings = new NbdExports.Settings("qemu-nbd", "127.0.0.1", 41809, 41899);
        exports = new NbdExports(settings, pool, attachments, restarts);
        exports.recover();
    }

    @AfterEach
    void tearDown() {
        if (exports != null) {
            exports.close();
            restarts.shutdownNow();
            db.close();
        }
    }

    private Attachment attachedVolume() {
        Volume v = volumes.create(new VolumeStore.Spec("p", "u", "v", null, 1, "nova",
                new VolumeTypeStore(db.dataSource()).defaultType(), null, null, null, false, java.util.Map.of()));
        pool.createEmpty(v.id(), 1L << 30);
        Attachment a = attachments.reserve(v.id(), "server-1", "/dev/vdb", false, false, false);
        attachments.transition(a.id(), Attachment.RESERVED, Attachment.ATTACHED);
        return attachments.get(a.id());
    }

    @Test
    void anExportServesTheVolumeAndComesBackOnItsPortWhenItDies() throws Exception {
        Attachment a = exports.export(attachedVolume(), "host-1");
        assertThat(a.nbdPort()).isBetween(41809, 41899);
        assertThat(a.host()).isEqualTo("host-1");
        String uri = exports.uri(a);
        assertThat(uri).isEqualTo("nbd://127.0.0.1:" + a.nbdPort() + "/" + a.volumeId());
        assertThat(virtualSize(uri)).isEqualTo(String.valueOf(1L << 30));

        long pid = Long.parseLong(Files.readString(pool.dir().resolve("exports/" + a.id() + ".pid")).strip());
        ProcessHandle dying = ProcessHandle.of(pid).orElseThrow();
        dying.destroyForcibly();
        dying.onExit().get(30, TimeUnit.SECONDS);
        // The supervisor starts it again on the same port: wait for the new process, however long the host takes.
        while (readPid(a) == pid || !exports.serving(a.id())) {
            Thread.sleep(100);
        }
        assertThat(virtualSize(uri)).as("served again at the same address").isEqualTo(String.valueOf(1L << 30));

        exports.stop(a.id());
        assertThat(exports.serving(a.id())).isFalse();
        assertThat(virtualSize(uri)).as("nothing serves it after a stop").isNull();
    }

    @Test
    void aRestartedControlPlaneAdoptsTheExportsStillWantedAndStopsTheOthers() throws Exception {
        Attachment kept = exports.export(attachedVolume(), "host-1");
        Attachment gone = exports.export(attachedVolume(), "host-1");
        long keptPid = readPid(kept);
        long gonePid = readPid(gone);
        // The control plane dies without stopping its exports; meanwhile one attachment is forgotten.
        attachments.delete(gone.id());

        NbdExports next = new NbdExports(settings, pool, attachments, restarts);
        next.recover();
        try {
            assertThat(next.serving(kept.id())).isTrue();
            assertThat(readPid(kept)).as("adopted, not restarted").isEqualTo(keptPid);
            ProcessHandle.of(gonePid).ifPresent(p -> p.onExit().join());
            assertThat(ProcessHandle.of(gonePid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            assertThat(virtualSize(exports.uri(kept))).isEqualTo(String.valueOf(1L << 30));
        } finally {
            next.close();
        }
    }

    private long readPid(Attachment a) throws Exception {
        Path f = pool.dir().resolve("exports/" + a.id() + ".pid");
        return Files.exists(f) ? Long.parseLong(Files.readString(f).strip()) : -1;
    }

    /** The export's size as an NBD client sees it, or null when none answers. */
    private static String virtualSize(String uri) throws Exception {
        Process p = new ProcessBuilder("qemu-img", "info", "--output=json", uri).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(60, TimeUnit.SECONDS);
        if (p.exitValue() != 0) {
            return null;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"virtual-size\"\\s*:\\s*(\\d+)").matcher(out);
        return m.find() ? m.group(1) : null;
    }
}
