package io.stratus.scheduler.conductor;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.stratus.api.ApiException;
import io.stratus.proto.v1.AbortMigration;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Delete;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.LiveMigrate;
import io.stratus.proto.v1.MigrateDisk;
import io.stratus.proto.v1.NetworkInterface;
import io.stratus.proto.v1.PrepareMigrationTarget;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerGroupStore;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.compute.UserData;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.image.Image;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.network.Port;
import io.stratus.scheduler.placement.NoValidHostException;
import io.stratus.scheduler.placement.Placement;
import io.stratus.scheduler.placement.PlacementException;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.PlacementView;
import io.stratus.scheduler.placement.ProviderUsage;
import io.stratus.scheduler.placement.ResourceRequest;
import io.stratus.scheduler.selection.Filters;
import io.stratus.scheduler.selection.HostSelector;
import io.stratus.scheduler.selection.HostState;
import io.stratus.scheduler.selection.Hypervisor;
import io.stratus.scheduler.selection.RequestSpec;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Carries servers' tasks out: places a boot (filters, weighers, an atomic claim) and sends it to
 * the host's agent, follows the agents' events, reschedules a boot that failed on another host
 * (up to {@code maxAttempts} hosts, releasing each failed claim), and gives up tasks whose agent
 * has gone silent. Every step is conditional on the server's current request, so replicas that
 * race on one server never both act.
 */
public final class Conductor {
    private static final Logger LOG = Logger.getLogger(Conductor.class);
    private static final SecureRandom TOKENS = new SecureRandom();
    /** Glance's disk_format of a kernel image (Amazon kernel image). */
    private static final String KERNEL_FORMAT = "aki";
    /** The zone every host is in until hosts name their own (Nova's default zone). */
    public static final String DEFAULT_ZONE = "nova";

    /** The conductor's limits. */
    public record Settings(int maxAttempts, Duration taskTimeout, Duration hostDownAfter) {
    }

    private final ServerStore servers;
    private final ServerMetadataStore metadata;
    private final FlavorStore flavors;
    private final ImageCatalog images;
    private final ServerGroupStore groups;
    private final PlacementStore placement;
    private final PlacementView view;
    private final HostDirectory hosts;
    private final HostSelector selector;
    private final MigrationStore migrations;
    private final CommandPublisher commands;
    private final NetworkService network;
    private final Clock clock;
    private final Settings settings;
    private final Counter placed;
    private final Counter noValidHost;
    private final Counter rescheduled;
    private final Timer placing;

    public Conductor(ServerStore servers, ServerMetadataStore metadata, MigrationStore migrations, FlavorStore flavors,
                     ImageCatalog images,
                     ServerGroupStore groups, PlacementStore placement, PlacementView view, HostDirectory hosts,
                     HostSelector selector, CommandPublisher commands, NetworkService network, Clock clock,
                     Settings settings, MeterRegistry meters) {
        this.servers = servers;
        this.metadata = metadata;
        this.migrations = migrations;
        this.flavors = flavors;
        this.images = images;
        this.groups = groups;
        this.placement = placement;
        this.view = view;
        this.hosts = hosts;
        this.selector = selector;
        this.commands = commands;
        this.network = network;
        this.clock = clock;
        this.settings = settings;
        this.placed = Counter.builder("stratus.scheduler.placements").tag("result", "placed")
                .description("Boots placed on a host (claim made)").register(meters);
        this.noValidHost = Counter.builder("stratus.scheduler.placements").tag("result", "no_valid_host")
                .description("Boots no host could take").register(meters);
        this.rescheduled = Counter.builder("stratus.scheduler.reschedules")
                .description("Boots that failed on their host and were placed again or given up").register(meters);
        this.placing = Timer.builder("stratus.scheduler.placement.duration")
                .description("Filters, weighers and the claim of one boot").register(meters);
    }

    public static String newRequestId() {
        return "req-" + UUID.randomUUID();
    }

    /** The consumer that holds a resize's new size until it is confirmed or reverted. */
    static String resizeConsumer(String serverId) {
        return "resize-" + serverId;
    }

    /**
     * A move refused. A resize is the tenant's own (migrations are the operator's): its answer names
     * no host, and the operator finds the hosts and why in the log.
     */
    private static ApiException refusal(Server s, String action, String forOperators, String forTenants) {
        if (!action.equals("resize")) {
            return ApiException.badRequest(forOperators);
        }
        LOG.infof("instance %s: %s", s.id(), forOperators);
        return ApiException.badRequest(forTenants);
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
        schedule(serverId, Optional.empty());
    }

    /** @param lastFailure why the boot failed on the host tried before, for the fault if no host is left */
    private void schedule(String serverId, Optional<Server.Fault> lastFailure) {
        Optional<Server> found = servers.find(serverId);
        if (found.isEmpty() || found.get().taskState() != TaskState.SCHEDULING) {
            return;
        }
        Server s = found.get();
        Image image;
        try {
            Optional<Image> known = images.find(s.imageId());
            if (known.isEmpty()) {
                servers.fail(s.id(), s.requestId(), new Server.Fault("ImageNotFound", "image " + s.imageId()
                        + " was deleted before the server was placed"));
                return;
            }
            image = known.get();
        } catch (ApiException e) {
            LOG.warnf("instance %s request %s: %s", s.id(), s.requestId(), e.getMessage());
            servers.fail(s.id(), s.requestId(), new Server.Fault("ImageServiceUnavailable", e.getMessage()));
            return;
        }
        ResourceRequest request = ResourceRequest.of(s.vcpus(), s.ramMib(), s.diskGib());
        RequestSpec spec = spec(s, image, request);
        Map<String, HostView> views = hostViews();
        Set<String> tried = new HashSet<>(s.triedHosts());
        String[] log = {"no host was filtered out"};
        String host;
        Timer.Sample timing = Timer.start();
        try {
            host = new Placement(placement).place(s.id(), request, selector.forPlacement(spec,
                    usage -> tried.contains(usage.name()) ? null : hostState(usage, views),
                    (Consumer<HostSelector.Decision>) d -> log[0] = d.summary()), view);
        } catch (NoValidHostException e) {
            timing.stop(placing);
            noValidHost.increment();
            String why = (s.triedHosts().isEmpty() ? "" : " (already tried: " + String.join(", ", s.triedHosts()) + ")")
                    + lastFailure.map(f -> ". Last exception: " + f.code() + ": " + f.message()).orElse("");
            LOG.infof("instance %s request %s: no valid host: %s; %s%s", s.id(), s.requestId(), e.getMessage(), log[0], why);
            servers.fail(s.id(), s.requestId(), new Server.Fault("NoValidHost", e.getMessage() + "; " + log[0] + why));
            return;
        } catch (PlacementException e) {
            LOG.errorf(e, "instance %s request %s: placement failed", s.id(), s.requestId());
            servers.fail(s.id(), s.requestId(), new Server.Fault("PlacementFailed", e.getMessage()));
            return;
        }
        timing.stop(placing);
        placed.increment();
        LOG.infof("instance %s request %s: placed on %s (attempt %d); %s", s.id(), s.requestId(), host,
                s.attempts() + 1, log[0]);
        List<String> triedNow = new ArrayList<>(s.triedHosts());
        triedNow.add(host);
        if (!servers.assign(s.id(), s.requestId(), host, triedNow, s.attempts() + 1)) {
            // Deleted, or another replica took the request over, while this one placed it.
            placement.release(s.id());
            return;
        }
        try {
            portsFollow(s.id(), host);
        } catch (RuntimeException e) {
            LOG.errorf(e, "instance %s request %s: its ports could not be bound to %s", s.id(), s.requestId(), host);
            placement.release(s.id());
            servers.fail(s.id(), s.requestId(), new Server.Fault("PortBindingFailed", "the server's ports could not"
                    + " be bound to its host: " + e.getMessage()));
            return;
        }
        try {
            commands.send(host, envelope(s.id(), s.projectId(), s.requestId())
                    .setBoot(boot(s, image)).build());
        } catch (DispatchException e) {
            LOG.warnf("instance %s request %s: boot not dispatched to %s: %s", s.id(), s.requestId(), host,
                    e.getMessage());
            placement.release(s.id());
            servers.fail(s.id(), s.requestId(), new Server.Fault("DispatchFailed", e.getMessage()));
        }
    }

    private RequestSpec spec(Server s, Image image, ResourceRequest request) {
        return new RequestSpec(s.id(), request,
                s.availabilityZone().isEmpty() ? Optional.empty() : Optional.of(s.availabilityZone()), s.imageId(),
                s.serverGroupId().flatMap(groups::find).map(g ->
                        new RequestSpec.ServerGroup(g.policy(), placedMembers(g.id(), s.id()))),
                image.properties());
    }

    /**
     * The group's other members that are on a host: the server placed now is not one (else the
     * first member of an affinity group would have to join itself), nor are members still waiting
     * to be placed themselves.
     */
    private Set<String> placedMembers(String groupId, String serverId) {
        Set<String> members = new HashSet<>(servers.membersOf(groupId));
        members.remove(serverId);
        members.removeIf(id -> servers.find(id).flatMap(Server::host).isEmpty());
        return members;
    }

    private HostState hostState(ProviderUsage usage, Map<String, HostView> views) {
        HostView v = views.getOrDefault(usage.name(), HostView.EMPTY);
        return hosts.state(usage, DEFAULT_ZONE, v.images(), v.instances());
    }

    /**
     * Starts a live migration of an ACTIVE server: the target (the one asked for, or the best
     * the filters and weighers find among the others) is claimed first, next to the source's
     * claim, then the target is told to get ready and the source to send the guest. Both commands
     * carry one fresh token: the target admits only the source that presents it. Both hosts'
     * drivers must be able to live-migrate ({@link Hypervisor#LIVE_MIGRATION}); a host named that
     * cannot is refused with Nova's "Migration pre-check error" (400).
     *
     * @param maxDowntimeMs the longest switch-over pause, 0 for the agents' default
     * @return the target host
     */
    public String liveMigrate(Server s, Optional<String> targetHost, int maxDowntimeMs) {
        if (s.vmState() != InstanceState.ACTIVE || s.taskState() != TaskState.NONE) {
            throw ApiException.conflict("Cannot 'os-migrateLive' instance " + s.id() + " while it is in vm_state "
                    + s.vmState().name().toLowerCase() + (s.taskState() == TaskState.NONE ? ""
                    : " and task_state " + s.taskState().name().toLowerCase()) + "; live migration needs ACTIVE");
        }
        Move move = claimTarget(s, "os-migrateLive", Transfer.LIVE, targetHost, Optional.empty(),
                TaskState.MIGRATING_LIVE, InstanceState.ACTIVE);
        migrations.start(move.requestId(), s, Migration.Type.LIVE_MIGRATION, move.source(), move.target(),
                s.flavorId(), Migration.Status.RUNNING);
        try {
            commands.send(move.target(), envelope(s.id(), s.projectId(), move.requestId()).setPrepareMigrationTarget(
                    PrepareMigrationTarget.newBuilder().setMigrationId(move.requestId()).setSourceHost(move.source())
                            .setInstance(move.boot()).setToken(move.token())).build());
            commands.send(move.source(), envelope(s.id(), s.projectId(), move.requestId()).setLiveMigrate(
                    LiveMigrate.newBuilder().setMigrationId(move.requestId()).setTargetHost(move.target())
                            .setTargetAddress(move.address()).setToken(move.token())
                            .setMaxDowntimeMs(maxDowntimeMs)).build());
        } catch (DispatchException e) {
            abandon(s, move, e);
        }
        LOG.infof("instance %s request %s: live migration %s -> %s started; %s", s.id(), move.requestId(),
                move.source(), move.target(), move.decision());
        return move.target();
    }

    /**
     * Starts a cold move of an ACTIVE or SHUTOFF server to another host: Nova's migrate (same
     * flavor) or a resize that its host has no room for. The target is claimed with the new size;
     * the source stops the guest and sends its disk; the target boots it (if it ran) and the server
     * waits in VERIFY_RESIZE for confirm or revert, with the source's copy kept until then. Both
     * hosts' drivers must be able to copy the disk ({@link Hypervisor#COLD_MIGRATION}).
     *
     * @return the target host
     */
    public String coldMove(Server s, String action, Flavor to, Optional<String> targetHost) {
        if ((s.vmState() != InstanceState.ACTIVE && s.vmState() != InstanceState.SHUTOFF)
                || s.taskState() != TaskState.NONE) {
            throw ApiException.conflict("Cannot '" + action + "' instance " + s.id() + " while it is in vm_state "
                    + s.vmState().name().toLowerCase() + (s.taskState() == TaskState.NONE ? ""
                    : " and task_state " + s.taskState().name().toLowerCase()) + "; it must be ACTIVE or SHUTOFF");
        }
        Move move = claimTarget(s, action, Transfer.COLD, targetHost, Optional.of(to), TaskState.RESIZE_MIGRATING,
                InstanceState.ACTIVE, InstanceState.SHUTOFF);
        servers.setPendingFlavor(s.id(), Optional.of(to.id()));
        migrations.start(move.requestId(), s, action.equals("resize") ? Migration.Type.RESIZE
                : Migration.Type.MIGRATION, move.source(), move.target(), to.id(), Migration.Status.MIGRATING);
        try {
            commands.send(move.target(), envelope(s.id(), s.projectId(), move.requestId()).setPrepareMigrationTarget(
                    PrepareMigrationTarget.newBuilder().setMigrationId(move.requestId()).setSourceHost(move.source())
                            .setInstance(move.boot()).setToken(move.token()).setCold(true)
                            .setStart(s.vmState() == InstanceState.ACTIVE)).build());
            commands.send(move.source(), envelope(s.id(), s.projectId(), move.requestId()).setMigrateDisk(
                    MigrateDisk.newBuilder().setMigrationId(move.requestId()).setTargetHost(move.target())
                            .setTargetAddress(move.address()).setToken(move.token())).build());
        } catch (DispatchException e) {
            servers.setPendingFlavor(s.id(), Optional.empty());
            abandon(s, move, e);
        }
        LOG.infof("instance %s request %s: %s %s -> %s (flavor %s) started; %s", s.id(), move.requestId(), action,
                move.source(), move.target(), to.name(), move.decision());
        return move.target();
    }

    /** A move's target, claimed, and what both hosts are told. */
    private record Move(String source, String target, String address, String requestId, String token, Boot boot,
                        String decision) {
    }

    /**
     * Claims the target of a move (the one asked for, or the best other host the filters and
     * weighers find among those whose driver can receive {@code transfer}) next to the source's
     * claim, and starts the server's task. A source that cannot send {@code transfer}, or a
     * target named that cannot receive it, is refused with 400 before anything is claimed.
     */
    private Move claimTarget(Server s, String action, Transfer transfer, Optional<String> targetHost,
                             Optional<Flavor> to, TaskState task, InstanceState... from) {
        String source = s.host().orElseThrow(() -> ApiException.conflict("Instance " + s.id() + " has no host to"
                + " move from"));
        if (targetHost.equals(Optional.of(source))) {
            throw ApiException.badRequest("Instance " + s.id() + " is already on host " + source + "; name another"
                    + " host or none");
        }
        targetHost.ifPresent(h -> {
            if (hosts.report(h).isEmpty()) {
                throw ApiException.badRequest("Compute host " + h + " could not be found.");
            }
        });
        // Nova answers a live migration its hosts cannot do with MigrationPreCheckError (400).
        String refused = transfer == Transfer.LIVE ? "Migration pre-check error: "
                : "Cannot '" + action + "' instance " + s.id() + ": ";
        transfer.refusal(source, hosts.hypervisor(source), true).ifPresent(why -> {
            throw refusal(s, action, refused + why, refused + "the hypervisor of its compute host cannot " + action
                    + " it");
        });
        targetHost.flatMap(h -> transfer.refusal(h, hosts.hypervisor(h), false)).ifPresent(why -> {
            throw ApiException.badRequest(refused + why);
        });
        // The source can send (above): it has reported its driver.
        Hypervisor sourceDriver = hosts.hypervisor(source).orElseThrow();
        targetHost.flatMap(h -> hosts.hypervisor(h).flatMap(d -> transfer.mismatch(h, d, source, sourceDriver)))
                .ifPresent(why -> {
                    throw ApiException.badRequest(refused + why);
                });
        // An operator may have enabled a host a moment ago: a move chooses from a current picture.
        view.refresh();
        Image image = images.find(s.imageId()).orElseThrow(() -> ApiException.conflict("Instance " + s.id()
                + " cannot move: its image " + s.imageId() + " was deleted, and the target host needs it"));
        Flavor flavor = to.orElseGet(() -> flavors.byId(s.flavorId()).orElse(new Flavor(s.flavorId(), s.flavorId(),
                s.vcpus(), s.ramMib(), s.diskGib(), false)));
        ResourceRequest request = ResourceRequest.of(flavor.vcpus(), flavor.ramMib(), flavor.diskGib());
        Map<String, HostView> views = hostViews();
        String consumer = migrationConsumer(s.id());
        String[] log = {"no host was filtered out"};
        boolean[] lackedTrait = {false};
        placement.release(consumer);
        String target;
        try {
            target = new Placement(placement).place(consumer, request, selector.forPlacement(spec(s, image, request)
                            .requiring(transfer.required(sourceDriver)).forbidding(transfer.forbidden(sourceDriver)),
                    usage -> usage.name().equals(source) || targetHost.filter(h -> !h.equals(usage.name())).isPresent()
                            ? null : hostState(usage, views),
                    (Consumer<HostSelector.Decision>) d -> {
                        log[0] = d.summary();
                        lackedTrait[0] = !d.removedBy().getOrDefault(Filters.TRAITS_FILTER, List.of()).isEmpty();
                    }), view);
        } catch (NoValidHostException e) {
            throw refusal(s, action, "No valid host was found for '" + action + "' of " + s.id()
                    + targetHost.map(h -> " to " + h).orElse("") + ": " + e.getMessage() + "; " + log[0]
                    + (lackedTrait[0] ? " (" + Filters.TRAITS_FILTER + ": the target's hypervisor needs the trait "
                    + transfer.trait + " to receive " + transfer.what + (transfer == Transfer.LIVE ? ", and the"
                    + " source's driver (" + sourceDriver.describe() + ")" : "") + ")" : ""),
                    "No valid host was found. There are not enough hosts available.");
        }
        String address = hosts.report(target).map(HostReport::getGrpcAddress).orElse("");
        String requestId = newRequestId();
        if (address.isEmpty() || !servers.startTask(s.id(), requestId, task, from)) {
            placement.release(consumer);
            view.reread(target);
            if (address.isEmpty()) {
                throw new ApiException(503, "host " + target + " has not published its agent's address"
                        + " (stratus.agent.grpc-address): the source cannot reach it");
            }
            throw ApiException.conflict("Cannot '" + action + "' instance " + s.id() + ": another task started");
        }
        byte[] secret = new byte[32];
        TOKENS.nextBytes(secret);
        return new Move(source, target, address, requestId, Base64.getUrlEncoder().withoutPadding()
                .encodeToString(secret), boot(s, image, flavor), log[0]);
    }

    private void abandon(Server s, Move move, DispatchException e) {
        Server.Fault fault = new Server.Fault("DispatchFailed", e.getMessage());
        migrations.fail(move.requestId(), fault);
        placement.release(migrationConsumer(s.id()));
        view.reread(move.target());
        servers.abandonTask(s.id(), move.requestId(), fault);
        throw new ApiException(503, "the move of " + s.id() + " could not be handed to the hosts; try again: "
                + e.getMessage());
    }

    private Boot boot(Server s, Image image) {
        return boot(s, image, flavors.byId(s.flavorId()).orElse(new Flavor(s.flavorId(), s.flavorId(), s.vcpus(),
                s.ramMib(), s.diskGib(), false)));
    }

    /**
     * What a host boots the server as: its size and image, its NICs, and for cloud-init its user
     * data (decoded; the API took only valid base64), its metadata and whether it gets a config
     * drive (which the agent makes from the metadata API).
     */
    private Boot boot(Server s, Image image, Flavor flavor) {
        Boot.Builder b = Boot.newBuilder().setName(s.name()).setFlavor(flavor.name()).setResources(resources(
                flavor.vcpus(), flavor.ramMib(), flavor.diskGib())).setSource(source(image))
                .putAllMetadata(metadata.of(s.id())).setConfigDrive(s.launch().configDrive());
        s.launch().userData().ifPresent(u -> b.setUserData(ByteString.copyFrom(UserData.decode(u))));
        for (Port p : network.portsOf(s.id())) {
            b.addNetworks(NetworkInterface.newBuilder().setPortId(p.id()).setNetworkId(p.networkId())
                    .setMac(p.macAddress()).setTap(p.tap()).setMtu(network.mtu(p.networkId())));
        }
        return b.build();
    }

    /**
     * Binds the server's ports to {@code host}, where it runs now (Neutron's binding:host_id): that
     * host's agent gets their filters and DHCP leases, the other hosts on their networks the tunnel
     * entries that lead to it, and the host it left loses them.
     */
    public void portsFollow(String serverId, String host) {
        network.bindServer(serverId, host);
    }

    /**
     * What an agent boots of {@code image}, by its kind: a kernel ({@code disk_format} aki) boots
     * with no disk; a disk that names its kernel and ramdisk ({@code kernel_id}, Glance's AMI)
     * boots them with that disk; any other disk is a whole-disk image, whose kernel, initrd and
     * command line the agent finds on it (its partitions and GRUB's default entry).
     */
    static BootSource source(Image image) {
        BootSource.Builder source = BootSource.newBuilder();
        if (!image.kernelId().isEmpty()) {
            source.setKernelImageId(image.kernelId()).setRamdiskImageId(image.ramdiskId())
                    .setKernelCmdline(image.osCommandLine()).setImageId(image.id()).setImageSha256(image.sha256());
        } else if (image.diskFormat().equals(KERNEL_FORMAT)) {
            source.setKernelImageId(image.id()).setRamdiskImageId(image.ramdiskId())
                    .setKernelCmdline(image.osCommandLine());
        } else {
            // Nova reads os_command_line only with a kernel_id: a whole disk's command line is its boot loader's.
            source.setImageId(image.id()).setImageSha256(image.sha256());
        }
        return source.build();
    }

    static Resources resources(long vcpus, long ramMib, long diskGib) {
        return Resources.newBuilder().setVcpus((int) vcpus).setMemoryMib(ramMib).setDiskGib(diskGib).build();
    }

    /** An envelope for a command of {@code requestId}, valid for the task timeout. */
    public CommandEnvelope.Builder envelope(String instanceId, String tenantId, String requestId) {
        Instant now = clock.instant();
        return CommandEnvelope.newBuilder().setRequestId(requestId).setInstanceId(instanceId).setTenantId(tenantId)
                .setIssuedAt(timestamp(now)).setDeadline(timestamp(now.plus(settings.taskTimeout())));
    }

    private static Timestamp timestamp(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }

    /** What runs where, for the weighers and the server-group filter. */
    private record HostView(Set<String> images, Set<String> instances) {
        static final HostView EMPTY = new HostView(Set.of(), Set.of());
    }

    private Map<String, HostView> hostViews() {
        Map<String, HostView> views = new HashMap<>();
        for (ServerStore.Placed p : servers.placed()) {
            HostView v = views.computeIfAbsent(p.host(), h -> new HostView(new HashSet<>(), new HashSet<>()));
            v.images().add(p.imageId());
            v.instances().add(p.id());
        }
        return views;
    }

    /** Whether {@code host}'s agent can run guests there (it does not report itself disabled). */
    public boolean hostAcceptsGuests(String host) {
        return hosts.disabledByAgent(host).isEmpty();
    }

    /** Whether {@code host} reported recently enough to count as up. */
    public boolean hostUp(String host) {
        return hosts.alive(host, settings.hostDownAfter());
    }

    /** Follows one agent event. */
    public void onEvent(InstanceEvent e) {
        if (!e.getImageId().isEmpty() && e.hasFault()) {
            // A createImage that failed: its image goes (Nova deletes the image of a failed snapshot).
            ImageActions.imageFailed(images, e);
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
        if (!e.getMigrationId().isEmpty() && e.getMigrationId().equals(s.requestId())
                && s.taskState() == TaskState.MIGRATING_LIVE) {
            s = followMigration(s, e);
        } else if (!e.getMigrationId().isEmpty() && e.getMigrationId().equals(s.requestId())
                && s.taskState() == TaskState.RESIZE_MIGRATING) {
            s = followColdMove(s, e);
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
                LOG.infof("instance %s deleted on %s (request %s)", s.id(), e.getHost(), e.getRequestId());
            }
            return;
        }
        boolean ownRequest = e.getRequestId().equals(s.requestId());
        if (e.getState() == InstanceState.ERROR && s.vmState() == InstanceState.BUILD && ownRequest) {
            reschedule(s, fault.orElse(new Server.Fault("BootFailed", "the boot failed on " + e.getHost())));
            return;
        }
        Optional<Instant> launched = e.hasLaunchedAt()
                ? Optional.of(Instant.ofEpochSecond(e.getLaunchedAt().getSeconds(), e.getLaunchedAt().getNanos()))
                : Optional.empty();
        TaskState task = e.getTaskState() == TaskState.TASK_STATE_UNSPECIFIED ? TaskState.NONE : e.getTaskState();
        if (!ownRequest && !e.getRequestId().isEmpty()) {
            // A late event of an older request: the state is the agent's truth, the task is not ours.
            task = s.taskState();
        }
        servers.applyEvent(s.id(), e.getHost(), e.getSequence(), e.getState(), task, e.getPowerState(), fault,
                launched);
        if (fault.isPresent() && ownRequest && s.pendingFlavorId().isPresent()
                && s.vmState() != InstanceState.VERIFY_RESIZE && e.getState() != InstanceState.VERIFY_RESIZE) {
            // The agent refused the resize: its claim of the new size goes back.
            placement.release(resizeConsumer(s.id()));
            servers.setPendingFlavor(s.id(), Optional.empty());
            migrations.fail(e.getRequestId(), fault.get());
        } else if (ownRequest && e.getState() == InstanceState.VERIFY_RESIZE && fault.isEmpty()) {
            // A resize on the same host is done (a cold move's record moved on when it arrived).
            migrations.advance(e.getRequestId(), Migration.Status.MIGRATING, Migration.Status.FINISHED);
        }
    }

    /**
     * The end of a live migration, reported by the source (the request's answer) or the target
     * (the guest arrived): on success the server moves to the target and the target's claim
     * replaces the source's; on failure the target's claim goes back. Returns the server as it is now.
     */
    private Server followMigration(Server s, InstanceEvent e) {
        String source = s.host().orElse("");
        if (!e.getHost().equals(source) && e.getState() == InstanceState.ACTIVE && !e.hasFault()) {
            if (servers.moveTo(s.id(), s.requestId(), e.getHost())) {
                portsFollowQuietly(s.id(), e.getHost());
                migrations.advance(s.requestId(), Migration.Status.RUNNING, Migration.Status.COMPLETED);
                placement.replace(s.id(), migrationConsumer(s.id()));
                view.reread(source);
                view.reread(e.getHost());
                LOG.infof("instance %s request %s: live-migrated from %s to %s", s.id(), s.requestId(), source,
                        e.getHost());
            }
            return servers.find(s.id()).orElse(s);
        }
        if (e.getHost().equals(source) && e.hasFault()) {
            migrations.fail(s.requestId(), new Server.Fault(e.getFault().getCode(), e.getFault().getMessage()));
            placement.release(migrationConsumer(s.id()));
            view.invalidate();
            LOG.warnf("instance %s request %s: live migration failed, the guest stays on %s: %s", s.id(),
                    s.requestId(), source, e.getFault().getMessage());
        }
        return s;
    }

    /**
     * The end of a cold move: on success the server is the target's, waiting in VERIFY_RESIZE
     * with the source remembered; on failure (reported by the source, where the instance stays)
     * the target's claim and the pending flavor go.
     */
    private Server followColdMove(Server s, InstanceEvent e) {
        String source = s.host().orElse("");
        if (!e.getHost().equals(source) && e.getState() == InstanceState.VERIFY_RESIZE && !e.hasFault()) {
            if (servers.moveForResize(s.id(), s.requestId(), e.getHost(), source)) {
                portsFollowQuietly(s.id(), e.getHost());
                migrations.advance(s.requestId(), Migration.Status.MIGRATING, Migration.Status.FINISHED);
                view.reread(source);
                view.reread(e.getHost());
                LOG.infof("instance %s request %s: moved cold from %s to %s; waiting for confirm or revert", s.id(),
                        s.requestId(), source, e.getHost());
            }
            return servers.find(s.id()).orElse(s);
        }
        if (e.getHost().equals(source) && e.hasFault()) {
            migrations.fail(s.requestId(), new Server.Fault(e.getFault().getCode(), e.getFault().getMessage()));
            placement.release(migrationConsumer(s.id()));
            servers.setPendingFlavor(s.id(), Optional.empty());
            view.invalidate();
            LOG.warnf("instance %s request %s: cold move failed, the instance stays on %s: %s", s.id(),
                    s.requestId(), source, e.getFault().getMessage());
        }
        return s;
    }

    /**
     * {@link #portsFollow} for a guest that already runs on {@code host}: the move is done whatever
     * happens here, so a failure (the database gone for a moment) is logged with the server's id.
     */
    private void portsFollowQuietly(String serverId, String host) {
        try {
            portsFollow(serverId, host);
        } catch (RuntimeException e) {
            LOG.errorf(e, "instance %s: its ports could not be bound to %s, where it runs now", serverId, host);
        }
    }

    /**
     * A boot failed on its host: the claim goes back, the host's leftovers are deleted, and the
     * boot is placed again elsewhere while attempts remain.
     */
    void reschedule(Server s, Server.Fault cause) {
        String next = newRequestId();
        if (!servers.unassign(s.id(), s.requestId(), next)) {
            return;
        }
        placement.release(s.id());
        s.host().ifPresent(view::reread);
        rescheduled.increment();
        s.host().ifPresent(h -> cleanUp(s, h));
        if (s.attempts() >= settings.maxAttempts()) {
            LOG.warnf("instance %s: boot failed on %s (%s); %d attempts made, giving up", s.id(), s.host().orElse("?"),
                    cause.message(), s.attempts());
            servers.fail(s.id(), next, new Server.Fault("NoValidHost", "No valid host was found. Exceeded maximum"
                    + " number of attempts (" + settings.maxAttempts() + ") for instance " + s.id()
                    + ". Last exception: " + cause.code() + ": " + cause.message()));
            return;
        }
        LOG.infof("instance %s: boot failed on %s (%s: %s); rescheduling, request %s", s.id(), s.host().orElse("?"),
                cause.code(), cause.message(), next);
        schedule(s.id(), Optional.of(cause));
    }

    /**
     * Ends the moves of a server being deleted: a live or cold move under way is aborted at its
     * source (the target drops what it received when the stream ends) and its record fails; a
     * move that waits for confirm is confirmed and its source told to delete the copy it kept.
     * The claims go when the server is deleted ({@link #release}).
     */
    public void endMovesForDelete(Server s) {
        if (s.taskState() == TaskState.MIGRATING_LIVE || s.taskState() == TaskState.RESIZE_MIGRATING) {
            s.host().ifPresent(source -> abortMove(s, source));
            migrations.fail(s.requestId(), new Server.Fault("ServerDeleted", "the server was deleted during the"
                    + " move"));
        }
        migrations.settle(s.id(), Migration.Status.CONFIRMED);
        s.sourceHost().ifPresent(source -> cleanUp(s, source));
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
        cleanUp(s, e.getHost());
    }

    private void abortMove(Server s, String source) {
        try {
            commands.send(source, envelope(s.id(), s.projectId(), newRequestId()).setAbortMigration(
                    AbortMigration.newBuilder().setMigrationId(s.requestId())).build());
        } catch (DispatchException e) {
            LOG.warnf("instance %s: could not tell %s to abort move %s: %s", s.id(), source, s.requestId(),
                    e.getMessage());
        }
    }

    /** Tells a host to drop an instance it no longer runs for us; the host may be gone. */
    private void cleanUp(Server s, String host) {
        try {
            commands.send(host, envelope(s.id(), s.projectId(), newRequestId()).setDelete(Delete.getDefaultInstance())
                    .build());
        } catch (DispatchException e) {
            LOG.warnf("instance %s: could not ask %s to clean up: %s", s.id(), host, e.getMessage());
        }
    }

    /** Gives up tasks no event has moved for the task timeout; reschedules stuck boots. */
    public void sweep() {
        for (Server s : servers.stuckSince(clock.instant().minus(settings.taskTimeout()))) {
            String silent = "host " + s.host().orElse("(none)") + " sent nothing for " + settings.taskTimeout()
                    .toSeconds() + " s";
            if (s.taskState() == TaskState.SCHEDULING) {
                // The replica that was placing it stopped: place it again under the same request.
                schedule(s.id());
            } else if (s.vmState() == InstanceState.BUILD) {
                reschedule(s, new Server.Fault("BootTimedOut", "the boot did not finish: " + silent));
            } else if (s.taskState() == TaskState.DELETING) {
                release(s);
                if (servers.markDeleted(s.id())) {
                    LOG.warnf("instance %s deleted without its host's confirmation: %s", s.id(), silent);
                }
            } else {
                Server.Fault gaveUp = new Server.Fault("TaskTimedOut", "task " + s.taskState().name().toLowerCase()
                        + " gave up: " + silent);
                if (s.taskState() == TaskState.MIGRATING_LIVE || s.taskState() == TaskState.RESIZE_MIGRATING) {
                    // A move that finished later would leave the guest where this record does not say:
                    // the source stops it (the guest runs on there), which ends the target's part too.
                    s.host().ifPresent(h -> abortMove(s, h));
                    migrations.fail(s.requestId(), gaveUp);
                    placement.release(migrationConsumer(s.id()));
                    servers.setPendingFlavor(s.id(), s.taskState() == TaskState.RESIZE_MIGRATING ? Optional.empty()
                            : s.pendingFlavorId());
                    view.invalidate();
                }
                servers.abandonTask(s.id(), s.requestId(), gaveUp);
            }
        }
    }

    /**
     * Gives back everything a deleted server held (its claim and a pending resize's) and rereads
     * its host, so that this replica sees the room at once.
     */
    public void release(Server s) {
        network.releaseServer(s.id());
        placement.release(s.id());
        placement.release(resizeConsumer(s.id()));
        placement.release(migrationConsumer(s.id()));
        s.host().ifPresent(view::reread);
    }

    /**
     * An operator changed a host: choose from a fresh picture of the hosts from now on. Reread at
     * once (operators act rarely): a picture only marked stale is still used for up to a second,
     * and a boot right after an enable would be claimed on the host that was just disabled.
     */
    public void hostsChanged() {
        view.refresh();
    }

    /** Placement's view of hosts, for the operator API. */
    public List<ProviderUsage> hostUsage() {
        return placement.all();
    }

    static Fault fault(String code, String message) {
        return Fault.newBuilder().setCode(code).setMessage(message).build();
    }
}
