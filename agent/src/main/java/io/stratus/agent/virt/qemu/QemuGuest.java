package io.stratus.agent.virt.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.agent.virt.ConsoleOutput;
import io.stratus.agent.virt.GuestExit;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.GuestUsage;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.MemoryFootprint;
import io.stratus.agent.virt.VirtualGuest;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * A guest in a QEMU process of its own, driven over QMP. The process is not the agent's child
 * (QEMU daemonizes): it outlives the agent, whose next start finds it by its pid file and
 * connects to its monitor and console sockets again.
 */
final class QemuGuest implements VirtualGuest {
    private static final Logger LOG = Logger.getLogger(QemuGuest.class);
    private static final Duration QUIT_WAIT = Duration.ofSeconds(10);
    private static final long CLOCK_TICKS = 100;

    private final String instanceId;
    private final QemuRun run;
    private final long pid;
    private final long memoryBytes;
    private final AtomicReference<GuestExit> lastShutdown = new AtomicReference<>();
    private volatile boolean stopping;
    /** Who hears watchdog firings; until one is set, the firings wait in {@link #unheardFirings}. */
    private Runnable watchdogListener;
    private int unheardFirings;
    private volatile boolean detached;
    private Qmp qmp;
    private SocketChannel console;

    private QemuGuest(String instanceId, QemuRun run, long pid, long memoryBytes) {
        this.instanceId = instanceId;
        this.run = run;
        this.pid = pid;
        this.memoryBytes = memoryBytes;
    }

    /**
     * Connects to a QEMU process's monitor and console; the guest stays as it is (running or not).
     * With {@code replay}, the console's output so far (from its log file) goes to {@code output}
     * first: an agent that restarted shows what the guest wrote before.
     */
    static QemuGuest attach(String instanceId, QemuRun run, long pid, long memoryBytes, ConsoleOutput output,
                            int replay) throws IOException {
        QemuGuest guest = new QemuGuest(instanceId, run, pid, memoryBytes);
        guest.qmp = Qmp.connect(run.monitorSocket(), guest::event, instanceId);
        try {
            guest.console = SocketChannel.open(StandardProtocolFamily.UNIX);
            guest.console.connect(UnixDomainSocketAddress.of(run.consoleSocket()));
            if (replay > 0) {
                replay(run.consoleLog(), replay, output);
            }
            Thread t = new Thread(() -> guest.copyConsole(output), instanceId + "-console");
            t.setDaemon(true);
            t.start();
        } catch (IOException | RuntimeException e) {
            guest.qmp.close();
            if (guest.console != null) {
                guest.console.close();
            }
            throw e;
        }
        return guest;
    }

    private static void replay(Path log, int maxBytes, ConsoleOutput output) throws IOException {
        if (!Files.exists(log)) {
            return;
        }
        try (FileChannel f = FileChannel.open(log)) {
            long from = Math.max(0, f.size() - maxBytes);
            ByteBuffer b = ByteBuffer.allocate((int) (f.size() - from));
            while (b.hasRemaining() && f.read(b, from + b.position()) > 0) {
                // Reads until the tail is in.
            }
            output.write(b.array(), 0, b.position());
        }
    }

    private void copyConsole(ConsoleOutput output) {
        byte[] buffer = new byte[4096];
        try (InputStream in = Channels.newInputStream(console)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                output.write(buffer, 0, n);
            }
        } catch (IOException e) {
            // The process ended or the agent let go of the guest.
        }
    }

    private void event(JsonNode msg) {
        switch (msg.path("event").asText()) {
            case "SHUTDOWN" -> lastShutdown.set(exitOf(msg.path("data").path("reason").asText("")));
            // QEMU took no action (-action watchdog=none): the agent's listener decides.
            case "WATCHDOG" -> watchdogFired();
            default -> {
            }
        }
    }

    private void watchdogFired() {
        Runnable listener;
        synchronized (this) {
            listener = watchdogListener;
            if (listener == null) {
                unheardFirings++;
                return;
            }
        }
        listener.run();
    }

    @Override
    public void onWatchdog(Runnable listener) {
        int unheard;
        synchronized (this) {
            watchdogListener = listener;
            unheard = unheardFirings;
            unheardFirings = 0;
        }
        for (int i = 0; i < unheard; i++) {
            listener.run();
        }
    }

    static GuestExit exitOf(String reason) {
        return switch (reason) {
            case "guest-shutdown" -> new GuestExit(GuestExit.Reason.POWER_OFF, "ACPI power-off (" + reason + ")");
            case "guest-reset" -> new GuestExit(GuestExit.Reason.RESET, reason);
            case "guest-panic" -> new GuestExit(GuestExit.Reason.CRASH, "the guest panicked");
            case "host-qmp-quit", "host-qmp-system-reset", "host-ui" -> new GuestExit(GuestExit.Reason.STOPPED, reason);
            default -> new GuestExit(GuestExit.Reason.FAILED, "QEMU ended: " + (reason.isEmpty() ? "no reason given"
                    : reason));
        };
    }

    String instanceId() {
        return instanceId;
    }

    QemuRun run() {
        return run;
    }

    /** The guest's monitor, for the driver's commands (migration). */
    Qmp qmp() {
        return qmp;
    }

    /** Lets the guest run (it starts stopped, so that no console output is lost before the agent listens). */
    void cont() {
        qmp.execute("cont");
    }

    /** Built with -S and never let run: the agent ended before it said {@code cont}. */
    boolean neverStarted() {
        return "prelaunch".equals(qmp.execute("query-status").path("status").asText());
    }

    @Override
    public synchronized void attachVolume(GuestSpec.Volume volume) {
        VolumeSlots.attach(qmp, run, instanceId, volume);
    }

    @Override
    public synchronized void detachVolume(String attachmentId) {
        VolumeSlots.detach(qmp, attachmentId);
    }

    @Override
    public synchronized List<String> volumeSlots(Collection<String> attachments) {
        return VolumeSlots.layout(qmp, attachments);
    }

    @Override
    public void pause() {
        qmp.execute("stop");
    }

    @Override
    public void resume() {
        qmp.execute("cont");
    }

    @Override
    public boolean paused() {
        try {
            return "paused".equals(qmp.execute("query-status").path("status").asText());
        } catch (HypervisorException e) {
            return false;
        }
    }

    @Override
    public void stop() {
        stopping = true;
        try {
            qmp.execute("quit");
            if (!qmp.awaitClosed(QUIT_WAIT)) {
                LOG.warnf("instance %s: QEMU (pid %d) did not quit; killing it", instanceId, pid);
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (HypervisorException e) {
            ProcessHandle.of(pid).filter(p -> QemuDriver.runs(p, run)).ifPresent(ProcessHandle::destroyForcibly);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ProcessHandle.of(pid).filter(p -> QemuDriver.runs(p, run)).ifPresent(ProcessHandle::destroyForcibly);
        } finally {
            awaitGone();
            release();
            run.clean();
        }
    }

    private void awaitGone() {
        Optional<ProcessHandle> p = ProcessHandle.of(pid);
        if (p.isPresent()) {
            try {
                p.get().onExit().get(QUIT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                LOG.warnf("instance %s: QEMU (pid %d) still there after it was killed", instanceId, pid);
            }
        }
    }

    @Override
    public void detach() {
        detached = true;
        release();
    }

    private void release() {
        qmp.close();
        try {
            console.close();
        } catch (IOException e) {
            // Closing a socket that will not close leaves nothing to do.
        }
    }

    /**
     * Writes to QEMU's console socket, which feeds the guest's 16550: QEMU holds what the guest
     * has not read yet, so all is taken. Reads of the socket go on in the console thread: a
     * socket channel's reads and writes do not wait for each other.
     */
    @Override
    public synchronized int consoleInput(byte[] bytes, int offset, int length) {
        ByteBuffer b = ByteBuffer.wrap(bytes, offset, length);
        try {
            while (b.hasRemaining()) {
                console.write(b);
            }
        } catch (IOException e) {
            throw new HypervisorException("HypervisorError", "the serial console of instance " + instanceId
                    + " takes no input: " + e.getMessage(), e);
        }
        return length;
    }

    @Override
    public GuestExit awaitExit() throws InterruptedException {
        qmp.awaitClosed();
        if (detached) {
            // The agent let go; the guest runs on. Its watcher ends without an exit to report.
            throw new InterruptedException("detached from instance " + instanceId);
        }
        awaitGone();
        GuestExit exit = lastShutdown.get();
        if (stopping) {
            return new GuestExit(GuestExit.Reason.STOPPED, "stopped by the agent");
        }
        return exit != null ? exit : new GuestExit(GuestExit.Reason.FAILED, "the QEMU process ended without a"
                + " shutdown event; its log: " + run.logTail());
    }

    @Override
    public GuestUsage usage() {
        double cpu = cpuSeconds();
        long rb = 0;
        long wb = 0;
        long ro = 0;
        long wo = 0;
        try {
            for (JsonNode dev : qmp.execute("query-blockstats")) {
                JsonNode s = dev.path("stats");
                rb += s.path("rd_bytes").asLong();
                wb += s.path("wr_bytes").asLong();
                ro += s.path("rd_operations").asLong();
                wo += s.path("wr_operations").asLong();
            }
        } catch (HypervisorException e) {
            // A guest that ends as it is sampled has no more counters to give.
        }
        return new GuestUsage(cpu, rb, wb, ro, wo, 0, 0, 0, 0, memoryBytes, 0);
    }

    /** User and system time of the QEMU process: its vCPU threads and device emulation together. */
    private double cpuSeconds() {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) CLOCK_TICKS;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    @Override
    public Optional<MemoryFootprint> footprint() {
        return Optional.empty();
    }

    /** Read from the process's command line: a reattached guest may have been booted by an older agent. */
    @Override
    public boolean entropyDevice() {
        return ProcessHandle.of(pid).flatMap(p -> p.info().arguments())
                .map(args -> Arrays.stream(args).anyMatch(a -> a.startsWith("virtio-rng-device")))
                .orElse(false);
    }

    @Override
    public void snapshot(Path dir) {
        throw new HypervisorException("NotSupported", "the QEMU driver does not snapshot guests: they outlive the"
                + " agent instead");
    }
}
