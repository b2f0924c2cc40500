package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.ProtoTime;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.network.NetworkService;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jboss.logging.Logger;

/**
 * Hands servers' work to the task that does it and the agents' events to the task they concern:
 * a boot to {@link BootTask}, each kind of move to its {@link MoveTask} (run by
 * {@link TaskRunner}), an event to the move under way or to the server's record. Built by
 * {@link ConductorParts}.
 */
public final class Conductor {
    private static final Logger LOG = Logger.getLogger(Conductor.class);
    /** The zone every host is in until hosts name their own (Nova's default zone). */
    public static final String DEFAULT_ZONE = "nova";

    /**
     * The conductor's limits.
     *
     * @param volumeWait how long a server waits in BUILD for the volumes made for it (Nova's
     *                   {@code block_device_allocate_retries} × {@code block_device_allocate_retries_interval})
     */
    public record Settings(int maxAttempts, Duration taskTimeout, Duration hostDownAfter, Duration volumeWait) {
        /** Nova's default wait: 60 retries 3 s apart. */
        public static final Duration NOVA_VOLUME_WAIT = Duration.ofSeconds(60 * 3);

        /** With Nova's wait for volumes. */
        public Settings(int maxAttempts, Duration taskTimeout, Duration hostDownAfter) {
            this(maxAttempts, taskTimeout, hostDownAfter, NOVA_VOLUME_WAIT);
        }
    }

    private final ServerStore servers;
    private final MigrationStore migrations;
    private final ImageCatalog images;
    private final NetworkService network;
    private final GuestActions guestActions;
    private final ServerVolumes volumes;
    private final HostDirectory hosts;
    private final Scheduling scheduling;
    private final HostCommands commands;
    private final Duration hostDownAfter;
    private final BootTask boot;
    private final TaskRunner runner;
    private final LiveMigrationTask live;
    private final ColdMigrationTask cold;
    private final ResizeTask resize;
    private final Evacuation evacuation;

    Conductor(ServerStore servers, MigrationStore migrations, ImageCatalog images, NetworkService network,
              GuestActions guestActions, ServerVolumes volumes, HostDirectory hosts, Scheduling scheduling,
              HostCommands commands, Duration hostDownAfter,
              BootTask boot, TaskRunner runner, LiveMigrationTask live, ColdMigrationTask cold, ResizeTask resize) {
        this.servers = servers;
        this.migrations = migrations;
        this.images = images;
        this.network = network;
        this.guestActions = guestActions;
        this.volumes = volumes;
        this.hosts = hosts;
        this.scheduling = scheduling;
        this.commands = commands;
        this.hostDownAfter = hostDownAfter;
        this.boot = boot;
        this.runner = runner;
        this.live = live;
        this.cold = cold;
        this.resize = resize;
        this.evacuation = new Evacuation(servers, scheduling, commands, boot, volumes);
    }

    public static String newRequestId() {
        return "req-" + UUID.randomUUID();
    }

    /** The consumer that holds a resize's new size until it is confirmed or reverted. */
    static String resizeConsumer(String serverId) {
        return "resize-" + serverId;
    }

    /** The consumer that holds a live migration's claim on its target until the switch-over. */
    static String migrationConsumer(String serverId) {
        return "migration-" + serverId;
    }

    /**
     * Places a server that waits in BUILD/SCHEDULING and sends its boot. A server no host can take
     * goes to ERROR with Nova's "No valid host was found." fault.
     */
    public void schedule(String serverId) {
        boot.schedule(serverId);
    }

    void reschedule(Server s, Server.Fault cause) {
        boot.reschedule(s, cause);
    }

    /** Ends the wait of a server whose volumes are still being made past the volume wait ({@link BootTask#volumesOverdue}). */
    void volumesOverdue(Server s) {
        boot.volumesOverdue(s);
    }

    /** Starts a live migration ({@link LiveMigrationTask}); returns the target host. */
    public String liveMigrate(Server s, Optional<String> targetHost, int maxDowntimeMs) {
        return live.start(s, targetHost, maxDowntimeMs);
    }

    /** Starts a cold move ({@link ColdMigrationTask}), Nova's migrate or a resize; returns the target host. */
    public String coldMove(Server s, String action, Flavor to, Optional<String> targetHost) {
        return cold.start(s, action, to, targetHost);
    }

    /**
     * Nova's evacuate (admin): boots {@code s}, whose host is down, again on another host
     * ({@link Evacuation}).
     *
     * @throws io.stratus.scheduler.exception.Conflict its host is up
     * @throws io.stratus.scheduler.exception.InstanceInvalidState it is busy or in a state evacuate does not take
     */
    public void evacuate(Server s) {
        evacuation.evacuate(s, this::hostUp);
    }

    /** Starts evacuating {@code s} from {@code failed}, a host found failed; false when it is not at rest there. */
    public boolean startEvacuation(Server s, String failed) {
        return evacuation.start(s, failed);
    }

    /** Resizes on the server's host, or moves it where there is room ({@link ResizeTask}). */
    public void resize(Server s, Flavor to) {
        resize.start(s, to);
    }

    /** The move a server's task is, when it is a move that its hosts carry out between them. */
    private Optional<MoveTask> moveOf(TaskState task) {
        if (task == live.task()) {
            return Optional.of(live);
        }
        if (task == cold.task()) {
            return Optional.of(cold);
        }
        return Optional.empty();
    }

    /** A server is gone for good: its volumes are free again (or deleted with it). */
    void serverDeleted(String serverId) {
        volumes.serverDeleted(serverId);
    }

    /** Follows one agent event. */
    public void onEvent(InstanceEvent e) {
        if (!e.getImageId().isEmpty() && e.hasFault()) {
            // A createImage that failed: its image goes (Nova deletes the image of a failed snapshot).
            ImageActions.imageFailed(images, e);
        }
        if (!e.getVolumeId().isEmpty()) {
            // An answer to an AttachVolume or DetachVolume: the server's state is unchanged by it.
            volumes.answered(e);
            return;
        }
        Optional<Server> found = servers.find(e.getInstanceId());
        if (found.isEmpty()) {
            Optional<Server> deleted = servers.findDeleted(e.getInstanceId()).filter(d -> holdsCopy(e));
            deleted.ifPresent(d -> reap(d, e));
            if (deleted.isEmpty()) {
                LOG.debugf("event %s for unknown or deleted instance %s ignored", e.getEventId(), e.getInstanceId());
            }
            return;
        }
        Server s = found.get();
        if (s.taskState() == TaskState.DELETING && !s.host().equals(Optional.of(e.getHost())) && holdsCopy(e)) {
            reap(s, e);
            return;
        }
        if (!e.getMigrationId().isEmpty() && e.getMigrationId().equals(s.requestId())) {
            Optional<MoveTask> move = moveOf(s.taskState());
            if (move.isPresent()) {
                s = runner.follow(move.get(), s, e);
            }
        }
        if (!s.host().equals(Optional.of(e.getHost()))) {
            LOG.debugf("event %s of host %s for instance %s, now on %s, ignored", e.getEventId(), e.getHost(), s.id(),
                    s.host().orElse("no host"));
            return;
        }
        Optional<Server.Fault> fault = e.hasFault()
                ? Optional.of(new Server.Fault(e.getFault().getCode(), e.getFault().getMessage()))
                : Optional.empty();
        if (e.getState() == InstanceState.DELETED) {
            // Its room first, then the server: a client that saw it gone must not see it still counted.
            release(s);
            if (servers.markDeleted(s.id())) {
                volumes.serverDeleted(s.id());
                LOG.infof("instance %s deleted on %s (request %s)", s.id(), e.getHost(), e.getRequestId());
            }
            return;
        }
        boolean ownRequest = e.getRequestId().equals(s.requestId());
        if (e.getState() == InstanceState.ERROR && s.vmState() == InstanceState.BUILD && ownRequest) {
            boot.reschedule(s, fault.orElse(new Server.Fault("BootFailed", "the boot failed on " + e.getHost())));
            return;
        }
        Optional<Instant> launched = e.hasLaunchedAt()
                ? Optional.of(ProtoTime.instant(e.getLaunchedAt()))
                : Optional.empty();
        TaskState task = e.getTaskState() == TaskState.TASK_STATE_UNSPECIFIED ? TaskState.NONE : e.getTaskState();
        if (!ownRequest && !e.getRequestId().isEmpty()) {
            // A late event of an older request: the state is the agent's truth, the task is not ours.
            task = s.taskState();
        }
        servers.applyEvent(s.id(), e.getHost(), e.getSequence(), e.getState(), task, e.getPowerState(), fault,
                launched);
        if (ownRequest && s.vmState() == InstanceState.BUILD && e.getState() == InstanceState.ACTIVE) {
            // Its boot is done: the volumes it booted with are attached now.
            volumes.booted(s.id());
        }
        guestActions.record(s, e);
        if (ownRequest) {
            // A resize on the host: refused, or done and waiting for confirm.
            runner.follow(resize, s, e);
        }
    }

    /**
     * Ends the moves of a server being deleted: a live or cold move under way is aborted at its
     * source (the target drops what it received when the stream ends) and rolled back; a move that
     * waits for confirm is confirmed and its source told to delete the copy it kept. The claims go
     * when the server is deleted ({@link #release}).
     */
    public void endMovesForDelete(Server s) {
        moveOf(s.taskState()).ifPresent(move -> runner.abort(move, s, new Server.Fault("ServerDeleted",
                "the server was deleted during the move")));
        migrations.settle(s.id(), Migration.Status.CONFIRMED);
        s.sourceHost().ifPresent(source -> commands.cleanUp(s, source));
    }

    /** Gives up the task of {@code s}, which no event will end: a move is aborted and rolled back first. */
    void giveUp(Server s, Server.Fault why) {
        moveOf(s.taskState()).ifPresentOrElse(move -> runner.giveUp(move, s, why),
                () -> servers.abandonTask(s.id(), s.requestId(), why));
    }

    /**
     * Whether an event says its host holds a copy of the instance that it is not already
     * deleting: a state other than DELETED, no fault (a refused command's answer, say, carries
     * one), and no DELETING task.
     */
    private static boolean holdsCopy(InstanceEvent e) {
        return !e.hasFault() && e.getState() != InstanceState.DELETED
                && e.getState() != InstanceState.INSTANCE_STATE_UNSPECIFIED && e.getTaskState() != TaskState.DELETING;
    }

    /**
     * A host reported a copy of a server that is deleted or being deleted elsewhere (a move that
     * finished there as the delete went out): the host is told to delete it, or it would run and
     * hold resources that no claim accounts for.
     */
    private void reap(Server s, InstanceEvent e) {
        LOG.warnf("instance %s: host %s reports a copy (%s) of a server %s; deleting it there", s.id(), e.getHost(),
                e.getState(), s.taskState() == TaskState.DELETING ? "being deleted" : "deleted");
        commands.cleanUp(s, e.getHost());
    }

    /**
     * Gives back everything a deleted server held (its ports, its claim, a pending resize's and a
     * move's) and rereads its host, so that this replica sees the room at once.
     */
    public void release(Server s) {
        network.releaseServer(s.id());
        scheduling.release(s.id());
        scheduling.release(resizeConsumer(s.id()));
        scheduling.release(migrationConsumer(s.id()));
        s.host().ifPresent(scheduling::reread);
    }

    /**
     * Binds the server's ports to {@code host}, where it runs now (Neutron's binding:host_id): that
     * host's agent gets their filters and DHCP leases, the other hosts on their networks the tunnel
     * entries that lead to it, and the host it left loses them; its volume attachments are that
     * host's (their exports stay: every host reaches them at the same address).
     */
    public void follow(String serverId, String host) {
        network.bindServer(serverId, host);
        volumes.moved(serverId, host);
    }

    /** Whether {@code host} reported recently enough to count as up. */
    public boolean hostUp(String host) {
        return hosts.alive(host, hostDownAfter);
    }

    /**
     * An operator changed a host: choose from a fresh picture of the hosts from now on. Reread at
     * once (operators act rarely): a picture only marked stale is still used for up to a second,
     * and a boot right after an enable would be claimed on the host that was just disabled.
     */
    public void hostsChanged() {
        scheduling.refresh();
    }
}
