package io.stratus.scheduler.volume;

import io.stratus.database.PrivateFiles;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * One {@code qemu-nbd} (Debian's qemu-utils) per attachment, serving the volume's qcow2 file over
 * NBD to the server's host. The port is chosen once and kept in the attachment's row: a supervisor
 * restarts an export that exits on the same port (the guest's NBD client reconnects to the address
 * it has), and after a control-plane restart the exports still wanted are adopted when their
 * process lives on, started again when not, and every other {@code qemu-nbd} this pool started
 * (its pid file says so) is stopped.
 */
public final class NbdExports implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(NbdExports.class);
    /** An export that keeps failing is retried this long after each exit, not in a tight loop. */
    private static final long RESTART_DELAY_MS = 1000;
    private static final Duration LISTEN_WAIT = Duration.ofSeconds(10);
    private static final int PROBE_TIMEOUT_MS = 200;
    private static final long PROBE_PAUSE_MS = 20;
    private static final long STOP_GRACE_SECONDS = 5;

    /** Where exports serve and which ports they may take. */
    public record Settings(String qemuNbd, String address, int firstPort, int lastPort) {
    }

    private final Settings settings;
    private final VolumePool pool;
    private final AttachmentStore attachments;
    private final ScheduledExecutorService restarts;
    private final Path pids;
    /** Attachment id → the export serving it now. */
    private final Map<String, ProcessHandle> running = new ConcurrentHashMap<>();
    private final Set<String> wanted = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    public NbdExports(Settings settings, VolumePool pool, AttachmentStore attachments,
                      ScheduledExecutorService restarts) {
        this.settings = settings;
        this.pool = pool;
        this.attachments = attachments;
        this.restarts = restarts;
        this.pids = pool.dir().resolve("exports");
    }

    /** The address every export serves on, which every host reaches. */
    public String address() {
        return settings.address();
    }

    /** The address agents reach the export of {@code a} under. */
    public String uri(Attachment a) {
        String host = settings.address().contains(":") ? "[" + settings.address() + "]" : settings.address();
        return "nbd://" + host + ":" + a.nbdPort() + "/" + a.volumeId();
    }

    /**
     * Exports {@code a}'s volume for {@code host}, on the attachment's port where it has one (a move
     * re-exports on a new one); returns the attachment with its port.
     */
    public synchronized Attachment export(Attachment a, String host) {
        if (closed) {
            throw VolumeException.failed("the volume service is stopping", null);
        }
        stop(a.id());
        int port = freePort();
        attachments.exported(a.id(), host, port);
        Attachment withPort = attachments.get(a.id());
        wanted.add(a.id());
        start(withPort);
        return withPort;
    }

    /** Stops {@code attachmentId}'s export, if it has one; the port is free again once the row is gone. */
    public void stop(String attachmentId) {
        wanted.remove(attachmentId);
        ProcessHandle p = running.remove(attachmentId);
        if (p != null) {
            halt(p);
        }
        try {
            Files.deleteIfExists(pidFile(attachmentId));
        } catch (IOException e) {
            LOG.warnf("cannot remove %s: %s", pidFile(attachmentId), e.getMessage());
        }
    }

    /** SIGTERM, then SIGKILL for an export that has not gone a few seconds later: a stop must not hang. */
    private static void halt(ProcessHandle p) {
        p.destroy();
        try {
            p.onExit().get(STOP_GRACE_SECONDS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            p.destroyForcibly();
            p.onExit().join();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /**
     * After a start: adopts or restarts the exports of attachments that have one, stops every
     * other export a pid file names.
     */
    public void recover() {
        try {
            PrivateFiles.directory(pids);
        } catch (IOException e) {
            throw VolumeException.failed("cannot create " + pids + ": " + e.getMessage(), e);
        }
        Set<String> keep = new HashSet<>();
        for (Attachment a : attachments.all()) {
            if (a.nbdPort() > 0 && !Attachment.RESERVED.equals(a.status())) {
                keep.add(a.id());
            }
        }
        try (var files = Files.list(pids)) {
            for (Path f : files.toList()) {
                String id = f.getFileName().toString().replaceFirst("\\.pid$", "");
                Optional<ProcessHandle> p = readPid(f).flatMap(ProcessHandle::of).filter(this::ours);
                if (p.isPresent() && keep.contains(id)) {
                    wanted.add(id);
                    watch(attachments.get(id), p.get());
                    LOG.infof("adopted the NBD export of attachment %s (pid %d)", id, p.get().pid());
                } else {
                    p.ifPresent(NbdExports::halt);
                    Files.deleteIfExists(f);
                }
            }
        } catch (IOException e) {
            throw VolumeException.failed("cannot read " + pids + ": " + e.getMessage(), e);
        }
        for (String id : keep) {
            if (!running.containsKey(id)) {
                wanted.add(id);
                start(attachments.get(id));
            }
        }
    }

    /** Whether an export serves {@code attachmentId} now. */
    public boolean serving(String attachmentId) {
        ProcessHandle p = running.get(attachmentId);
        return p != null && p.isAlive();
    }

    /** Stops every export: the control plane is stopping (a later start exports them again). */
    @Override
    public void close() {
        closed = true;
        for (String id : List.copyOf(running.keySet())) {
            stop(id);
        }
    }

    private void start(Attachment a) {
        try {
            PrivateFiles.directory(pids);
        } catch (IOException e) {
            throw VolumeException.failed("cannot create " + pids + ": " + e.getMessage(), e);
        }
        List<String> command = new ArrayList<>(List.of(settings.qemuNbd(), "--persistent", "--shared=4",
                "--format=qcow2", "--cache=none", "--aio=threads", "--bind=" + settings.address(),
                "--port=" + a.nbdPort(), "--export-name=" + a.volumeId()));
        if ("ro".equals(a.mode())) {
            command.add("--read-only");
        }
        command.add(pool.volumeFile(a.volumeId()).toString());
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(pids.resolve(a.id() + ".log").toFile())).start();
            PrivateFiles.write(pidFile(a.id()), Long.toString(p.pid()).getBytes(StandardCharsets.US_ASCII));
            watch(a, p.toHandle());
            awaitListening(a, p);
        } catch (IOException e) {
            throw VolumeException.failed("cannot start qemu-nbd for volume " + a.volumeId() + ": " + e.getMessage(),
                    e);
        }
    }

    /**
     * Returns once the export takes connections: qemu-nbd binds and listens a moment after it
     * starts, and an agent told the address at once would be refused (its attach would fail).
     */
    private void awaitListening(Attachment a, Process p) {
        InetSocketAddress address = new InetSocketAddress(settings.address(), a.nbdPort());
        long deadline = System.nanoTime() + LISTEN_WAIT.toNanos();
        while (true) {
            try (Socket probe = new Socket()) {
                probe.connect(address, PROBE_TIMEOUT_MS);
                return;
            } catch (IOException notYet) {
                if (!p.isAlive()) {
                    throw VolumeException.failed("the NBD export of volume " + a.volumeId() + " (qemu-nbd) exited as"
                            + " it started: see " + pids.resolve(a.id() + ".log"), notYet);
                }
                if (System.nanoTime() > deadline) {
                    throw VolumeException.failed("the NBD export of volume " + a.volumeId() + " does not take"
                            + " connections on " + address + " after " + LISTEN_WAIT.toSeconds() + " s", notYet);
                }
            }
            try {
                Thread.sleep(PROBE_PAUSE_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw VolumeException.failed("interrupted while the NBD export of volume " + a.volumeId()
                        + " started", e);
            }
        }
    }

    /** Restarts the export on its port when it exits while still wanted. */
    private void watch(Attachment a, ProcessHandle p) {
        running.put(a.id(), p);
        p.onExit().thenRun(() -> {
            if (closed || !wanted.contains(a.id()) || running.get(a.id()) != p) {
                return;
            }
            LOG.warnf("the NBD export of volume %s (port %d) exited; starting it again", a.volumeId(), a.nbdPort());
            restarts.schedule(() -> {
                synchronized (this) {
                    if (!closed && wanted.contains(a.id()) && running.get(a.id()) == p) {
                        try {
                            attachments.find(a.id()).ifPresent(this::start);
                        } catch (VolumeException e) {
                            // Its own exit brings the next try.
                            LOG.warnf("the NBD export of volume %s did not come back: %s", a.volumeId(),
                                    e.getMessage());
                        }
                    }
                }
            }, RESTART_DELAY_MS, TimeUnit.MILLISECONDS);
        });
    }

    private int freePort() {
        Set<Integer> used = new HashSet<>(attachments.ports());
        for (int port = settings.firstPort(); port <= settings.lastPort(); port++) {
            if (!used.contains(port) && bindable(port)) {
                return port;
            }
        }
        throw VolumeException.failed("no free NBD port in " + settings.firstPort() + "-" + settings.lastPort(), null);
    }

    private boolean bindable(int port) {
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new java.net.InetSocketAddress(settings.address(), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private boolean ours(ProcessHandle p) {
        return p.info().commandLine().map(c -> c.contains("qemu-nbd") && c.contains(pool.dir().toString()))
                .orElse(p.info().command().map(c -> c.endsWith("qemu-nbd")).orElse(false));
    }

    private Path pidFile(String attachmentId) {
        return pids.resolve(attachmentId + ".pid");
    }

    private static Optional<Long> readPid(Path f) {
        try {
            return Optional.of(Long.parseLong(Files.readString(f).strip()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}
