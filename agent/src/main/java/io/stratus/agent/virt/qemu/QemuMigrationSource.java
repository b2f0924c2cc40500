package io.stratus.agent.virt.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.MigrationLimits;
import io.stratus.agent.virt.MigrationOutcome;
import io.stratus.agent.virt.MigrationPipe;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Sends a QEMU guest with QEMU's own pre-copy migration, tunnelled: QEMU migrates to a Unix socket
 * the agent listens on in the instance's directory, and the agent pumps the bytes into the
 * agents' stream (no port of its own, so the stream's token check covers it). The guest's disk
 * goes along as QEMU's block migration, incremental: only the instance's qcow2 layer is copied;
 * the target made its own layer over its own copy of the same image.
 *
 * <p>A guest booted from a volume whose every writable disk is a volume moves without block
 * migration: QEMU's plain migration copies no disk, flushes and closes the volumes at the
 * switch-over (it inactivates its block nodes) and the target, which opened the same exports as it
 * started, takes them over; the read-only config drive is the target's own, made there.
 *
 * <p>Volumes stay where they are: their data is on their NBD export, which the target's QEMU
 * opens in the same slots as it starts. QEMU 7.2's block migration would copy every writable disk
 * and cannot be told to leave one out (libvirt mirrors each disk it means to copy over NBD
 * instead), so the guest is paused, its volumes are taken out of their slots and closed (flushed)
 * for the copy, and put back if the guest stays here: a guest with volumes is copied paused, on
 * KVM too.
 *
 * <p>QEMU itself never gives up on a guest that dirties memory faster than the stream carries
 * it: the driver cancels after the limit's rounds, as the in-JVM engine does. After QEMU has sent
 * everything the target says, by how it ends its side, whether the guest runs there; if not, the
 * guest goes on here.
 *
 * <p>Under TCG the guest is paused for the whole copy (stop and copy): QEMU 7.2's dirty tracking
 * under TCG loses writes now and then — a page the guest rewrote during a round arrives stale
 * (QEMU alone, migrating a guest that checks its memory to another QEMU over a Unix socket: 2 runs
 * of 26 had a stale page while the guest ran, 0 of 14 with it paused), which would corrupt a
 * guest without anyone knowing. The downtime is then the whole copy, and there is nothing to
 * converge. With KVM, whose dirty log is the kernel's, the copy is live.
 */
final class QemuMigrationSource {
    private static final Logger LOG = Logger.getLogger(QemuMigrationSource.class);
    private static final long POLL_MILLIS = 100;
    /** QEMU's own default is 32 MiB/s: "no limit" is as much as any link here carries. */
    private static final long UNLIMITED_BANDWIDTH = 1L << 40;
    private static final Duration CANCEL_WAIT = Duration.ofSeconds(30);

    private final String instanceId;
    private final QemuRun run;
    private final Qmp qmp;
    private final QemuGuest guest;
    private final boolean pausedCopy;
    /** The volumes taken out of their slots for the copy (QEMU would copy them onto themselves). */
    private List<VolumeSlots.Released> released = List.of();

    /** @param pausedCopy whether the guest is paused for the whole copy (TCG: see above) */
    QemuMigrationSource(QemuGuest guest, boolean pausedCopy) {
        this.instanceId = guest.instanceId();
        this.run = guest.run();
        this.qmp = guest.qmp();
        this.guest = guest;
        this.pausedCopy = pausedCopy;
    }

    MigrationOutcome send(MigrationPipe pipe, MigrationLimits limits) throws InterruptedException {
        // A guest booted from a volume may write nothing but volumes: then no disk is copied at all.
        boolean shared = VolumeSlots.onlyVolumesWritable(qmp);
        boolean volumes = !shared && VolumeSlots.holdsWritableVolume(qmp);
        boolean pausedHere = (pausedCopy || volumes) && !guest.paused();
        long pausedAt = System.nanoTime();
        if (pausedHere) {
            guest.pause();
        }
        boolean handedOver = false;
        try {
            released = shared ? List.of() : VolumeSlots.release(qmp);
            MigrationOutcome outcome = copy(pipe, limits, !shared);
            handedOver = outcome.completed();
            if (!handedOver) {
                return outcome;
            }
            String disks = shared ? "; no disk copied: every disk the guest writes is a volume, which the target"
                    + " opens on its export" : "";
            if (!pausedHere) {
                return new MigrationOutcome(outcome.aborted(), outcome.total(), outcome.downtime(),
                        outcome.summary() + disks);
            }
            Duration paused = Duration.ofNanos(System.nanoTime() - pausedAt);
            return new MigrationOutcome(outcome.aborted(), outcome.total(), Optional.of(paused), outcome.summary()
                    + "; the guest paused for the whole copy (" + (pausedCopy ? "TCG" : "its volumes") + "): "
                    + paused.toMillis() + " ms" + (released.isEmpty() ? "" : "; " + released.size() + " volumes"
                    + " reopened by the target, not copied") + disks);
        } finally {
            if (!handedOver) {
                takeVolumesBack();
                if (pausedHere) {
                    guest.resume();
                }
            }
        }
    }

    /** Puts the volumes released for the copy back in their slots, once, before the guest runs here again. */
    private void takeVolumesBack() {
        List<VolumeSlots.Released> back = released;
        released = List.of();
        List<String> failed = VolumeSlots.restore(qmp, back);
        if (!failed.isEmpty()) {
            LOG.errorf("instance %s stays here, but not all its volumes could be reopened: %s", instanceId, failed);
        }
    }

    /** @param block whether QEMU copies the guest's writable disks (its local layer) in the stream */
    private MigrationOutcome copy(MigrationPipe pipe, MigrationLimits limits, boolean block)
            throws InterruptedException {
        try (ServerSocketChannel listener = listen()) {
            configure(limits, block);
            qmp.execute("migrate", Qmp.arguments().put("uri", "unix:" + run.migrationSocket()));
            SocketChannel socket = accept(listener);
            Pump out = Pump.start(instanceId + "-migration-out", socket, pipe, pipe::endOutput,
                    () -> QemuIncoming.closeQuietly(socket));
            try {
                return follow(out, pipe, limits);
            } finally {
                QemuIncoming.closeQuietly(socket);
            }
        } catch (IOException e) {
            throw new HypervisorException("HypervisorError", "cannot tunnel the migration of instance " + instanceId
                    + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(run.migrationSocket());
            } catch (IOException e) {
                // A leftover socket is replaced by the next migration's.
            }
        }
    }

    private ServerSocketChannel listen() throws IOException {
        Files.deleteIfExists(run.migrationSocket());
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        listener.bind(UnixDomainSocketAddress.of(run.migrationSocket()));
        return listener;
    }

    /**
     * Block migration of the top layer only ({@code block}), or none: set either way, since QEMU
     * keeps a capability from one migration to the next. The agent's downtime and bandwidth.
     */
    private void configure(MigrationLimits limits, boolean block) {
        ObjectNode caps = Qmp.arguments();
        ArrayNode list = caps.putArray("capabilities");
        list.addObject().put("capability", "block").put("state", block);
        qmp.execute("migrate-set-capabilities", caps);
        ObjectNode parameters = Qmp.arguments().put("downtime-limit", Math.max(1, limits.maxDowntime().toMillis()))
                .put("max-bandwidth", limits.maxBandwidth().orElse(UNLIMITED_BANDWIDTH));
        if (block) {
            parameters.put("block-incremental", true);
        }
        qmp.execute("migrate-set-parameters", parameters);
    }

    /** QEMU connects as it starts the migration; one that failed to start never does. */
    private SocketChannel accept(ServerSocketChannel listener) throws IOException, InterruptedException {
        listener.configureBlocking(false);
        while (true) {
            SocketChannel s = listener.accept();
            if (s != null) {
                s.configureBlocking(true);
                return s;
            }
            JsonNode status = qmp.execute("query-migrate");
            if (status.path("status").asText().equals("failed")) {
                throw new HypervisorException("HypervisorError", "QEMU did not start the migration of instance "
                        + instanceId + ": " + status.path("error-desc").asText());
            }
            Thread.sleep(20);
        }
    }

    private MigrationOutcome follow(Pump out, MigrationPipe pipe, MigrationLimits limits)
            throws InterruptedException {
        while (true) {
            JsonNode status;
            try {
                Thread.sleep(POLL_MILLIS);
                status = qmp.execute("query-migrate");
            } catch (InterruptedException | HypervisorException e) {
                if (e instanceof HypervisorException h && !Thread.interrupted()) {
                    throw h;
                }
                JsonNode last = cancel();
                if (last.path("status").asText().equals("completed")) {
                    // Too late to abort: the guest may run on the target already; its answer decides.
                    return completed(last, out, pipe);
                }
                throw new InterruptedException("the migration of instance " + instanceId + " was aborted");
            }
            switch (status.path("status").asText()) {
                case "completed" -> {
                    return completed(status, out, pipe);
                }
                case "failed" -> throw new HypervisorException("HypervisorError", "QEMU's migration of instance "
                        + instanceId + " failed: " + status.path("error-desc").asText("no reason given")
                        + out.failure().map(e -> " (the tunnel: " + e.getMessage() + ")").orElse(""));
                case "cancelled" -> throw new HypervisorException("HypervisorError", "QEMU's migration of instance "
                        + instanceId + " was cancelled");
                default -> {
                    long rounds = status.path("ram").path("dirty-sync-count").asLong();
                    if (rounds > limits.maxRounds()) {
                        JsonNode last = cancel();
                        if (last.path("status").asText().equals("completed")) {
                            return completed(last, out, pipe);
                        }
                        JsonNode ram = status.path("ram");
                        String why = "after " + (rounds - 1) + " rounds " + (ram.path("remaining").asLong() >> 10)
                                + " KiB were still to copy, the guest dirtying "
                                + ram.path("dirty-pages-rate").asLong() + " pages/s";
                        return new MigrationOutcome(Optional.of(why),
                                Duration.ofMillis(status.path("total-time").asLong()), Optional.empty(), why);
                    }
                }
            }
        }
    }

    /**
     * QEMU sent everything and the guest is paused here: the target's end of the stream says
     * whether it runs there. If it does not, the guest runs on here.
     */
    private MigrationOutcome completed(JsonNode status, Pump out, MigrationPipe pipe) throws InterruptedException {
        try {
            // QEMU closed its socket: the pump passes what is left on, then the end.
            while (!out.await(1000)) {
                LOG.debugf("instance %s: still passing the migration's last bytes on", instanceId);
            }
            if (out.failure().isPresent()) {
                throw out.failure().get();
            }
            pipe.awaitPeerEnd();
        } catch (IOException | RuntimeException e) {
            LOG.warnf("instance %s: QEMU sent the guest, but the target did not take it (%s): it runs on here",
                    instanceId, e.getMessage());
            // Continuing after a completed migration takes the disks back (QEMU's cont activates them).
            takeVolumesBack();
            guest.cont();
            throw new HypervisorException("HypervisorError", "the target did not take instance " + instanceId
                    + ": " + e.getMessage(), e);
        }
        JsonNode ram = status.path("ram");
        String summary = "QEMU: " + status.path("total-time").asLong() + " ms, downtime "
                + status.path("downtime").asLong() + " ms, " + ram.path("dirty-sync-count").asLong() + " rounds, "
                + (ram.path("transferred").asLong() >> 10) + " KiB of memory"
                + (status.has("disk") ? ", " + (status.path("disk").path("transferred").asLong() >> 10) + " KiB of disk"
                : "") + ", " + (out.bytes() >> 10) + " KiB through the tunnel (disks and device state included)";
        return new MigrationOutcome(Optional.empty(), Duration.ofMillis(status.path("total-time").asLong()),
                Optional.of(Duration.ofMillis(status.path("downtime").asLong())), summary);
    }

    /**
     * Cancels the migration and waits until QEMU runs the guest here again; its last status (a
     * migration may complete before the cancel reaches it).
     */
    private JsonNode cancel() {
        JsonNode status = Qmp.arguments();
        try {
            qmp.execute("migrate_cancel");
            long deadline = System.nanoTime() + CANCEL_WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                status = qmp.execute("query-migrate");
                String s = status.path("status").asText();
                if (s.equals("cancelled") || s.equals("failed") || s.equals("completed")) {
                    return status;
                }
                Thread.sleep(20);
            }
            LOG.warnf("instance %s: QEMU did not cancel the migration within %d s", instanceId,
                    CANCEL_WAIT.toSeconds());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (HypervisorException e) {
            LOG.warnf("instance %s: cancelling the migration: %s", instanceId, e.getMessage());
        }
        return status;
    }
}
