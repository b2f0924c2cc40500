package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.Hostname;
import io.stratus.scheduler.compute.InstanceAction;
import io.stratus.scheduler.compute.InstanceActionStore;
import io.stratus.scheduler.compute.QuotaStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerGroup;
import io.stratus.scheduler.compute.ServerGroupStore;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.compute.WatchdogPolicy;
import io.stratus.scheduler.conductor.Conductor;
import io.stratus.scheduler.conductor.ImageActions;
import io.stratus.scheduler.conductor.ServerActions;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.image.Image;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.keypairs.KeypairStore;
import io.stratus.scheduler.network.IpAddress;
import io.stratus.scheduler.network.NetworkRequest;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.network.NetworkStore;
import io.stratus.scheduler.network.SecurityGroupStore;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.service.SchedulerConfig;
import io.stratus.scheduler.volume.BootVolumes;
import io.stratus.scheduler.volume.VolumeAttachments;
import io.stratus.scheduler.volume.VolumeException;
import io.stratus.scheduler.volume.VolumeService;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jboss.logging.Logger;

/**
 * {@code /compute/v2.1/servers}: create, list, show, update and delete ({@link ServerActionsResource}
 * has the actions). A member sees
 * and touches only its project's servers (another project's server is "not found", as in Nova);
 * an admin may list all projects' servers with {@code all_tenants}.
 */
@Path("/compute/v2.1/servers")
@Produces(MediaType.APPLICATION_JSON)
public class ServersResource {
    private static final Logger LOG = Logger.getLogger(ServersResource.class);
    private static final int MAX_COUNT = 10;
    private static final java.security.SecureRandom PASSWORDS = new java.security.SecureRandom();

    @Inject
    ServerStore servers;
    @Inject
    FlavorStore flavors;
    @Inject
    ImageCatalog images;
    @Inject
    ServerGroupStore groups;
    @Inject
    QuotaStore quotas;
    @Inject
    KeypairStore keypairs;
    @Inject
    ServerMetadataStore metadata;
    @Inject
    Conductor conductor;
    @Inject
    ServerActions actions;
    @Inject
    InstanceActionStore actionLog;
    @Inject
    ImageActions imageActions;
    @Inject
    HostDirectory hosts;
    @Inject
    PlacementStore placement;
    @Inject
    NetworkService network;
    @Inject
    NetworkStore networks;
    @Inject
    SecurityGroupStore securityGroups;
    @Inject
    SchedulerConfig config;
    @Inject
    Clock clock;
    @Inject
    io.stratus.scheduler.volume.AttachmentStore volumeAttachments;
    @Inject
    VolumeAttachments volumeAttachmentsOfServers;
    @Inject
    BootVolumes bootVolumes;

    @Context
    ContainerRequestContext request;

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller caller = TokenFilter.caller(request);
        JsonNode s = Json.object(body, "server");
        String name = Json.string(s, "name", 255);
        String flavorRef = lastSegment(Json.string(s, "flavorRef", 1024));
        // A client booting from a volume sends no imageRef, or an empty one (novaclient).
        Optional<String> imageRef = s.path("imageRef").isTextual() && s.get("imageRef").asText().isEmpty()
                ? Optional.empty() : Json.optionalString(s, "imageRef", 1024).map(ServersResource::lastSegment);
        BlockDeviceMappings requested = BlockDeviceMappings.read(s, imageRef.isPresent());
        if (imageRef.isEmpty() && requested.volumes().isEmpty()) {
            throw ApiException.badRequest("Missing imageRef attribute");
        }
        long min = Json.optionalInteger(s, "min_count", 1, MAX_COUNT, 1);
        long max = Json.optionalInteger(s, "max_count", 1, MAX_COUNT, min);
        if (max < min) {
            throw ApiException.badRequest("max_count (" + max + ") must not be less than min_count (" + min + ")");
        }
        refuseUnsupported(s);
        ServerPorts ports = ports();
        List<NetworkRequest> nics = ports.requests(caller, RequestedNetworks.read(s.get("networks"),
                Microversion.of(request).minor()), max);
        Optional<List<String>> groupIds = ports.securityGroups(caller, s.get("security_groups"));
        String accessIpv4 = accessIp(s, "accessIPv4");
        String accessIpv6 = accessIp(s, "accessIPv6");
        String adminPass = Json.optionalString(s, "adminPass", 255).orElseGet(ServersResource::generatedPassword);
        Map<String, String> meta = ServerMetadataResource.read(s.get("metadata"), "metadata");
        Optional<Server.Key> key = Json.optionalString(s, "key_name", 255).map(k -> keypairs.find(caller.userId(), k)
                .map(found -> new Server.Key(found.name(), found.type(), found.publicKey()))
                .orElseThrow(() -> ApiException.badRequest("Invalid key_name provided.")));
        String zone = Json.optionalString(s, "availability_zone", 255).orElse("");
        if (!zone.isEmpty() && !zone.equals(Conductor.DEFAULT_ZONE)) {
            throw ApiException.badRequest("The requested availability zone is not available: " + zone
                    + " (the zone is '" + Conductor.DEFAULT_ZONE + "')");
        }
        Optional<String> userData = CloudInitFields.userData(s);
        boolean wantsConfigDrive = CloudInitFields.configDrive(s);
        Flavor flavor = usableFlavor(caller, flavorRef);
        Optional<Image> named = requested.volumeRoot() ? Optional.empty()
                : Optional.of(bootableImage(caller, imageRef.orElseThrow(), flavor.ramMib(), flavor.diskGib()));
        // An image of a volume-backed server (its createImage) names snapshots: its root is a volume made from one.
        Optional<BlockDeviceMappings> imageDefined = named.flatMap(i -> BlockDeviceMappings.ofImage(i.properties(),
                requested));
        BlockDeviceMappings mappings = imageDefined.orElse(requested);
        // A server whose root is a volume has no image, as in Nova (its image is "").
        Optional<Image> image = mappings.volumeRoot() ? Optional.empty() : named;
        // A watchdog action Nova does not know is the request's fault, said now rather than at boot.
        image.ifPresent(i -> WatchdogPolicy.of(Map.of(), i.properties()));
        boolean configDrive = wantsConfigDrive || image.filter(CloudInitFields::imageWantsConfigDrive).isPresent();
        VolumeService.Asker asker = new VolumeService.Asker(caller.projectId(), caller.userId(), caller.isAdmin(),
                request.getHeaderString("X-Auth-Token"));
        checkVolumes(asker, mappings, max);
        Optional<String> group = Optional.empty();
        JsonNode hints = body.get("os:scheduler_hints");
        if (hints != null && hints.isObject() && hints.has("group")) {
            String g = Json.string(hints, "group", 64);
            ServerGroup found = groups.find(g).filter(x -> x.projectId().equals(caller.projectId()))
                    .orElseThrow(() -> ApiException.badRequest("Server group " + g + " could not be found."));
            group = Optional.of(found.id());
        }
        quotaChecks().checkCreate(caller.projectId(), flavor, max);
        ServerMetadataResource.checkCount(meta.size(), quotas.limits(caller.projectId())
                .getOrDefault("metadata_items", -1L));
        List<String> created = new ArrayList<>();
        Map<String, String> requestIds = new LinkedHashMap<>();
        Instant now = clock.instant();
        String reservation = reservationId();
        for (int i = 0; i < max; i++) {
            String id = UUID.randomUUID().toString();
            String serverName = max == 1 ? name : name + "-" + (i + 1);
            Server.Launch launch = new Server.Launch(userData, configDrive, Hostname.of(name, id, i, (int) max),
                    reservation, i, image.map(Image::kernelId).orElse(""), image.map(Image::ramdiskId).orElse(""));
            String requestId = Conductor.newRequestId();
            requestIds.put(id, requestId);
            servers.insert(new Server(id, serverName, caller.projectId(), caller.userId(), flavor.id(), Optional.empty(),
                    flavor.vcpus(), flavor.ramMib(), flavor.diskGib(), image.map(Image::id).orElse(""), zone, group,
                    InstanceState.BUILD, TaskState.SCHEDULING, Optional.empty(), requestId, now, List.of(), 0, 0,
                    Optional.empty(), Optional.empty(), now, now, Optional.empty(),
                    PowerState.POWER_STATE_UNSPECIFIED, key, Optional.empty(), accessIpv4, accessIpv6, launch));
            metadata.replace(id, meta);
            created.add(id);
        }
        // Nova re-checks quotas after creating, so that racing creates cannot both slip under it.
        if (quotaChecks().over(caller.projectId())) {
            created.forEach(servers::markDeleted);
            throw new ApiException(403, "Quota exceeded for instances, cores or ram: concurrent requests used the"
                    + " project's quota up");
        }
        try {
            for (String id : created) {
                ports.allocate(caller, id, nics, groupIds);
            }
        } catch (RuntimeException e) {
            // All or nothing: the servers made so far go, with whatever ports they got.
            for (String id : created) {
                servers.markDeleted(id);
                network.releaseServer(id);
            }
            throw e;
        }
        for (String id : created) {
            LOG.infof("instance %s (%s) created by %s in project %s: flavor %s, %s", id, name,
                    caller.userName(), caller.projectName(), flavor.name(), image.map(i -> "image " + i.id())
                            .orElse("boots from a volume"));
            record(id, caller, "create");
            if (provideVolumes(asker, id, requestIds.get(id), mappings)) {
                conductor.schedule(id);
            }
        }
        if (Json.optionalBoolean(s, "return_reservation_id", false)) {
            // Nova's multiple create may answer with the reservation instead of a server.
            return Response.status(202).entity(Map.of("reservation_id", reservation)).build();
        }
        // Nova's create answer: the first server's id and links, nothing of its state.
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", created.get(0));
        out.put("links", Views.links(base(), "servers", created.get(0)));
        out.put("OS-DCF:diskConfig", "MANUAL");
        out.put("security_groups", ports.securityGroupNames(created.get(0)));
        out.put("adminPass", adminPass);
        return Response.status(202).entity(Map.of("server", out)).build();
    }

    /** The mappings' volumes checked against what exists, before any server is made: Nova's 400s. */
    private void checkVolumes(VolumeService.Asker asker, BlockDeviceMappings mappings, long count) {
        if (mappings.volumes().isEmpty()) {
            return;
        }
        try {
            bootVolumes.check(asker, mappings.volumes(), count);
        } catch (VolumeException e) {
            throw e.kind() == VolumeException.Kind.INVALID ? ApiException.badRequest(e.getMessage()) : e;
        }
    }

    /**
     * Gives the new server its volumes (reserved, or being made from an image or a snapshot:
     * the server is placed once they are). A volume that cannot be had puts the server in ERROR
     * with the reason, as Nova's build does, and lets go of what it got; false then.
     */
    private boolean provideVolumes(VolumeService.Asker asker, String id, String requestId,
                                   BlockDeviceMappings mappings) {
        if (mappings.volumes().isEmpty()) {
            return true;
        }
        try {
            bootVolumes.provide(asker, id, mappings.volumes(), () -> conductor.schedule(id));
            return true;
        } catch (VolumeException e) {
            LOG.warnf("instance %s: its volumes could not be had: %s", id, e.getMessage());
            servers.fail(id, requestId, new Server.Fault("BuildAbortException", "Build of instance " + id
                    + " aborted: " + e.getMessage()));
            volumeAttachmentsOfServers.serverDeleted(id);
            return false;
        }
    }

    /**
     * Nova's {@code PUT /servers/{id}}: the name and the access addresses. The answer is the
     * whole server, as show gives it.
     */
    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> update(@PathParam("id") String id, JsonNode body) {
        Server s = owned(id);
        JsonNode u = Json.object(body, "server");
        String name = u.has("name") ? Json.string(u, "name", 255) : s.name();
        if (name.isBlank()) {
            throw ApiException.badRequest("Invalid input for field/attribute name: a server's name is not blank");
        }
        servers.rename(id, name, u.has("accessIPv4") ? accessIp(u, "accessIPv4") : s.accessIpv4(),
                u.has("accessIPv6") ? accessIp(u, "accessIPv6") : s.accessIpv6());
        Server changed = owned(id);
        return Map.of("server", Views.serverCore(base(), changed, shownFlavor(changed), metadata.of(id),
                ports().view(id), TokenFilter.caller(request).isAdmin(), () -> hostNames(changed)));
    }

    /** Every host name a fault of {@code s} could hold: its own hosts and every known one. */
    Collection<String> hostNames(Server s) {
        Set<String> names = new HashSet<>(s.triedHosts());
        s.host().ifPresent(names::add);
        placement.all().forEach(p -> names.add(p.name()));
        return names;
    }

    /** An access address as Nova validates it: an IPv4 (or IPv6) literal, or empty. */
    static String accessIp(JsonNode s, String field) {
        String v = Json.optionalString(s, field, 64).orElse("").trim();
        if (v.isEmpty()) {
            return "";
        }
        int version = field.equals("accessIPv4") ? 4 : 6;
        // Nova keeps an IPv6 access address in RFC 5952's text, as the network model writes it.
        return IpAddress.parse(v).filter(a -> a.version() == version).map(IpAddress::toString).orElseThrow(() ->
                ApiException.badRequest("Invalid input for field/attribute " + field + ": '" + v
                        + "' is not a valid IPv" + version + " address"));
    }

    /** Nova's generated admin password when the request gives none: 12 characters, no look-alikes. */
    static String generatedPassword() {
        String alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            b.append(alphabet.charAt(PASSWORDS.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    ServerPorts ports() {
        return new ServerPorts(network, networks, securityGroups);
    }

    void record(String serverId, Caller caller, String action) {
        actionLog.record(new InstanceAction(serverId, RequestIds.of(request), action, caller.projectId(),
                caller.userId(), clock.instant(), Optional.empty()));
    }

    /** Nova's reservation id of a create request: {@code r-} and 8 random lower-case letters and digits. */
    static String reservationId() {
        String alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
        StringBuilder b = new StringBuilder("r-");
        for (int i = 0; i < 8; i++) {
            b.append(alphabet.charAt(PASSWORDS.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    /**
     * Fields Nova takes that Stratus cannot honour yet: refused with a 400 rather than dropped,
     * so that nobody believes files were set up.
     */
    private static void refuseUnsupported(JsonNode s) {
        for (String field : List.of("personality")) {
            JsonNode v = s.get(field);
            if (v != null && !v.isNull() && !(v.isContainerNode() && v.isEmpty())) {
                throw ApiException.badRequest("'" + field + "' is not supported by this cloud yet; leave it out");
            }
        }
    }

    /** A flavor the caller may use (public, shared with its project, or any for admins), else 400. */
    Flavor usableFlavor(Caller caller, String ref) {
        return flavors.byId(ref).filter(f -> caller.isAdmin() || flavors.usableBy(f, caller.projectId()))
                .orElseThrow(() -> ApiException.badRequest("Flavor " + ref + " could not be found."));
    }

    ServerQuotas quotaChecks() {
        return new ServerQuotas(quotas, servers);
    }

    @GET
    public Map<String, Object> list(@Context UriInfo uri) {
        ServerListing listing = ServerListing.of(servers, TokenFilter.caller(request), uri.getQueryParameters(),
                ports()::fixedIps);
        List<Map<String, Object>> out = new ArrayList<>();
        for (Server s : listing.servers()) {
            out.add(Views.serverSummary(base(), s));
        }
        Map<String, Object> body = new LinkedHashMap<>(Map.of("servers", out));
        listing.addLinks(body, base() + "/compute/v2.1/servers");
        return body;
    }

    @GET
    @Path("/detail")
    public Map<String, Object> detail(@Context UriInfo uri) {
        Caller caller = TokenFilter.caller(request);
        ServerPorts ports = ports();
        ServerListing listing = ServerListing.of(servers, caller, uri.getQueryParameters(), ports::fixedIps);
        List<Map<String, Object>> out = new ArrayList<>();
        Map<String, Map<String, String>> meta = metadata.of(listing.servers().stream().map(Server::id).toList());
        for (Server s : listing.servers()) {
            out.add(withVolumes(Views.server(base(), s, caller.isAdmin(), Microversion.of(request), shownFlavor(s),
                    meta.getOrDefault(s.id(), Map.of()), ports.view(s.id()), () -> hostNames(s)), s));
        }
        Map<String, Object> body = new LinkedHashMap<>(Map.of("servers", out));
        listing.addLinks(body, base() + "/compute/v2.1/servers/detail");
        return body;
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> show(@PathParam("id") String id) {
        Caller caller = TokenFilter.caller(request);
        Server s = owned(id);
        return Map.of("server", withVolumes(Views.server(base(), s, caller.isAdmin(), Microversion.of(request),
                shownFlavor(s), metadata.of(s.id()), ports().view(s.id()), () -> hostNames(s)), s));
    }

    /** Nova's {@code GET /servers/{id}/ips}: the server's addresses by network. */
    @GET
    @Path("/{id}/ips")
    public Map<String, Object> addresses(@PathParam("id") String id) {
        Server s = owned(id);
        return Map.of("addresses", ports().view(s.id()).basicAddresses());
    }

    /** Nova's {@code GET /servers/{id}/ips/{network}}: its addresses on one network. */
    @GET
    @Path("/{id}/ips/{network}")
    public Map<String, Object> addressesOn(@PathParam("id") String id, @PathParam("network") String network) {
        Server s = owned(id);
        Object on = ports().view(s.id()).basicAddresses().get(network);
        if (on == null) {
            throw ApiException.notFound("There are no addresses of instance " + id + " on network " + network);
        }
        return Map.of(network, on);
    }

    /** Nova's {@code os-extended-volumes:volumes_attached}: the server's volumes (2.3: with delete_on_termination). */
    private Map<String, Object> withVolumes(Map<String, Object> view, Server s) {
        boolean v23 = Microversion.of(request).atLeast(2, 3);
        view.put("os-extended-volumes:volumes_attached", volumeAttachments.ofServer(s.id()).stream().map(a -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", a.volumeId());
            if (v23) {
                m.put("delete_on_termination", a.deleteOnTermination());
            }
            return m;
        }).toList());
        return view;
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        Caller caller = TokenFilter.caller(request);
        Server s = owned(id);
        refuseIfLocked(s, caller);
        actions.delete(s);
        record(id, caller, "delete");
        return Response.noContent().build();
    }

    /** Nova's lock: a locked server takes no action but from an admin. */
    static void refuseIfLocked(Server s, Caller caller) {
        if (s.lockedBy().isPresent() && !caller.isAdmin()) {
            throw ApiException.conflict("Instance " + s.id() + " is locked");
        }
    }

    /** The caller's server, or 404 (never 403: another project's server does not exist for it). */
    private Server owned(String id) {
        return owned(servers, TokenFilter.caller(request), id);
    }

    /** Server {@code id} if {@code caller} may see it (its project's or an admin), else 404, for every server resource. */
    static Server owned(ServerStore servers, Caller caller, String id) {
        return servers.find(id).filter(s -> caller.isAdmin() || s.projectId().equals(caller.projectId()))
                .orElseThrow(() -> ApiException.notFound("Instance " + id + " could not be found."));
    }

    /**
     * An image {@code caller} may boot a server of {@code ramMib} and {@code diskGib} from: visible
     * to it, active, and asking no more memory or disk than that (400 otherwise), as Nova checks at
     * create and rebuild.
     */
    Image bootableImage(Caller caller, String ref, long ramMib, long diskGib) {
        Image image = images.find(ref).filter(i -> caller.isAdmin() || i.visibleTo(caller.projectId()))
                .orElseThrow(() -> ApiException.badRequest("Image " + ref + " could not be found."));
        if (!image.status().equals("active")) {
            throw ApiException.badRequest("Image " + image.id() + " is not active (status " + image.status() + ")");
        }
        if (ramMib < image.minRamMib()) {
            throw ApiException.badRequest("Flavor's memory is too small for requested image: " + ramMib
                    + " MiB < min_ram " + image.minRamMib() + " MiB");
        }
        if (diskGib > 0 && diskGib < image.minDiskGib()) {
            throw ApiException.badRequest("Flavor's disk is too small for requested image: " + diskGib
                    + " GiB < min_disk " + image.minDiskGib() + " GiB");
        }
        return image;
    }

    /** During a resize Nova shows the new flavor. */
    static String shownFlavor(Server s) {
        return s.vmState() == InstanceState.VERIFY_RESIZE ? s.pendingFlavorId().orElse(s.flavorId()) : s.flavorId();
    }

    /** The id at the end of a reference that may be a URL ({@code flavorRef}, {@code imageRef}, list filters). */
    static String lastSegment(String ref) {
        String r = ref.endsWith("/") ? ref.substring(0, ref.length() - 1) : ref;
        return r.substring(r.lastIndexOf('/') + 1);
    }

    private String base() {
        return config.publicUrl();
    }
}
