package io.stratus.agent.virt.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.IncomingGuest;
import io.stratus.agent.virt.MigrationPipe;
import io.stratus.agent.virt.VirtualGuest;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.time.Duration;
import org.jboss.logging.Logger;

/**
 * A QEMU process started with {@code -incoming defer} (the machine built as for a boot, not
 * running) that takes QEMU's migration stream from the agents' tunnel: QMP
 * {@code migrate-incoming} on a Unix socket of the instance, the agent connected to it, the
 * stream's bytes pumped in. QEMU checks what arrives; a stream it cannot load ends the process.
 */
final class QemuIncoming implements IncomingGuest {
    private static final Logger LOG = Logger.getLogger(QemuIncoming.class);
    private static final long POLL_MILLIS = 50;
    private static final Duration LISTEN_WAIT = Duration.ofSeconds(10);

    private final String instanceId;
    private final QemuRun run;
    private final QemuGuest guest;
    private boolean ended;

    QemuIncoming(String instanceId, QemuRun run, QemuGuest guest) {
        this.instanceId = instanceId;
        this.run = run;
        this.guest = guest;
    }

    @Override
    public VirtualGuest receive(MigrationPipe pipe) {
        try {
            receiveInto(pipe);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            discard();
            throw new HypervisorException("HypervisorError", "interrupted while instance " + instanceId
                    + " arrived", e);
        } catch (RuntimeException e) {
            discard();
            throw e;
        }
        synchronized (this) {
            ended = true;
        }
        return guest;
    }

    private void receiveInto(MigrationPipe pipe) throws InterruptedException {
        try {
            Files.deleteIfExists(run.migrationSocket());
        } catch (IOException e) {
            throw new HypervisorException("HypervisorError", "cannot clear " + run.migrationSocket() + ": "
                    + e.getMessage(), e);
        }
        guest.qmp().execute("migrate-incoming", Qmp.arguments().put("uri", "unix:" + run.migrationSocket()));
        SocketChannel socket = connect();
        Pump in = Pump.start(instanceId + "-migration-in", pipe, socket, () -> socket.shutdownOutput(),
                () -> closeQuietly(socket));
        boolean arrived = false;
        try {
            while (true) {
                JsonNode status;
                try {
                    status = guest.qmp().execute("query-migrate");
                } catch (HypervisorException e) {
                    throw failed(in, "QEMU ended: " + run.logTail());
                }
                switch (status.path("status").asText()) {
                    case "completed" -> {
                        guest.cont();
                        arrived = true;
                        LOG.infof("instance %s: QEMU took in %d bytes of migration stream and runs the guest",
                                instanceId, in.bytes());
                        return;
                    }
                    case "failed", "cancelled" -> throw failed(in, "QEMU failed the incoming migration: "
                            + status.path("error-desc").asText(run.logTail()));
                    default -> {
                        if (in.failure().isPresent()) {
                            // QEMU may not notice a stream that just stops: the tunnel did.
                            throw failed(in, "the stream broke");
                        }
                        Thread.sleep(POLL_MILLIS);
                    }
                }
            }
        } finally {
            closeQuietly(socket);
            if (!arrived) {
                // Its failure, if it has one yet, is part of the story.
                in.await(1000);
            }
        }
    }

    private HypervisorException failed(Pump in, String what) {
        return new HypervisorException("HypervisorError", "instance " + instanceId + " did not arrive: " + what
                + in.failure().map(e -> " (the tunnel: " + e.getMessage() + ")").orElse(""));
    }

    /** Connects to QEMU's incoming socket, which it opens as it answers migrate-incoming. */
    private SocketChannel connect() throws InterruptedException {
        long deadline = System.nanoTime() + LISTEN_WAIT.toNanos();
        while (true) {
            SocketChannel s = null;
            try {
                s = SocketChannel.open(StandardProtocolFamily.UNIX);
                s.connect(UnixDomainSocketAddress.of(run.migrationSocket()));
                return s;
            } catch (IOException e) {
                closeQuietly(s);
                if (System.nanoTime() > deadline) {
                    throw new HypervisorException("HypervisorError", "QEMU of instance " + instanceId
                            + " did not listen on " + run.migrationSocket() + ": " + e.getMessage(), e);
                }
                Thread.sleep(POLL_MILLIS);
            }
        }
    }

    static void closeQuietly(java.nio.channels.Channel c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // Closing a socket that will not close leaves nothing to do.
            }
        }
    }

    @Override
    public synchronized void discard() {
        if (ended) {
            return;
        }
        ended = true;
        guest.stop();
        try {
            Files.deleteIfExists(run.migrationSocket());
        } catch (IOException e) {
            // The instance's directory goes with the migration anyway.
        }
    }
}
