package io.stratus.scheduler.conductor;

import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerGroupStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.image.Image;
import io.stratus.scheduler.placement.NoValidHostException;
import io.stratus.scheduler.placement.Placement;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.PlacementView;
import io.stratus.scheduler.placement.ProviderUsage;
import io.stratus.scheduler.placement.ResourceRequest;
import io.stratus.scheduler.selection.HostSelector;
import io.stratus.scheduler.selection.HostState;
import io.stratus.scheduler.selection.RequestSpec;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Chooses hosts and claims them, for a boot and for every move (Nova's scheduler client with its
 * placement claims): the filters and weighers choose among the hosts with room, and the first
 * that takes the claim wins. Also the claims' other ends, so that holding and giving back room
 * are written here only.
 */
public final class Scheduling {
    private final PlacementStore placement;
    private final PlacementView view;
    private final HostDirectory hosts;
    private final HostSelector selector;
    private final ServerStore servers;
    private final ServerGroupStore groups;

    public Scheduling(PlacementStore placement, PlacementView view, HostDirectory hosts, HostSelector selector,
                      ServerStore servers, ServerGroupStore groups) {
        this.placement = placement;
        this.view = view;
        this.hosts = hosts;
        this.selector = selector;
        this.servers = servers;
        this.groups = groups;
    }

    /**
     * What to place: {@code resources} for {@code consumer}, for {@code server} booting from
     * {@code image}, on a host with {@code requiredTraits} and none of {@code forbiddenTraits},
     * among the hosts {@code eligible} lets through (a boot's untried ones, a move's targets).
     */
    public record Request(String consumer, Server server, Image image, ResourceRequest resources,
                          Set<String> requiredTraits, Set<String> forbiddenTraits, Predicate<String> eligible) {
        public Request {
            requiredTraits = Set.copyOf(requiredTraits);
            forbiddenTraits = Set.copyOf(forbiddenTraits);
        }

        /** A boot of {@code s}: its own size, on a host it has not failed on yet. */
        public static Request boot(Server s, Image image) {
            Set<String> tried = Set.copyOf(s.triedHosts());
            // A server booted from a volume (no image) claims no local disk, as Nova's root_gb 0 for it.
            long disk = s.imageId().isEmpty() ? 0 : s.diskGib();
            return new Request(s.id(), s, image, ResourceRequest.of(s.vcpus(), s.ramMib(), disk), Set.of(),
                    Set.of(), host -> !tried.contains(host));
        }
    }

    /** The filters' and weighers' outcome, for logs and answers: what they said and which filters removed hosts. */
    public record Decision(String summary, Set<String> removingFilters) {
        /** No host had room, so no filter ran. */
        public static final Decision NONE = new Decision("no host was filtered out", Set.of());

        public Decision {
            removingFilters = Set.copyOf(removingFilters);
        }

        static Decision of(HostSelector.Decision d) {
            return new Decision(d.summary(), d.removedBy().entrySet().stream().filter(e -> !e.getValue().isEmpty())
                    .map(Map.Entry::getKey).collect(Collectors.toSet()));
        }

        public boolean removedBy(String filter) {
            return removingFilters.contains(filter);
        }
    }

    /** Where a request went, or why nowhere. */
    public sealed interface Outcome permits Placed, Unplaced {
        Decision decision();
    }

    /** Claimed on {@code host}. */
    public record Placed(String host, Decision decision) implements Outcome {
    }

    /** No host took it: {@code reason} is placement's "No valid host was found. ..." */
    public record Unplaced(String reason, Decision decision) implements Outcome {
    }

    /**
     * Chooses a host for {@code r} and claims its resources there for its consumer.
     *
     * @throws io.stratus.scheduler.placement.PlacementException the claims' database failed
     */
    public Outcome place(Request r) {
        Map<String, HostView> views = hostViews();
        Decision[] seen = {Decision.NONE};
        RequestSpec spec = spec(r.server(), r.image(), r.resources()).requiring(r.requiredTraits())
                .forbidding(r.forbiddenTraits());
        try {
            String host = new Placement(placement).place(r.consumer(), r.resources(), selector.forPlacement(spec,
                    usage -> r.eligible().test(usage.name()) ? hostState(usage, views) : null,
                    (Consumer<HostSelector.Decision>) d -> seen[0] = Decision.of(d)), view);
            return new Placed(host, seen[0]);
        } catch (NoValidHostException e) {
            return new Unplaced(e.getMessage(), seen[0]);
        }
    }

    /**
     * Claims {@code resources} for {@code consumer} on {@code host} alone, without the filters (a
     * resize next to the server's current size, where it already runs); false when the host has no
     * room or its agent disables it.
     */
    public boolean claimOn(String consumer, ResourceRequest resources, String host) {
        try {
            new Placement(placement).place(consumer, resources, fitting -> fitting.stream()
                    .filter(p -> p.name().equals(host) && hosts.disabledByAgent(host).isEmpty()).toList());
            return true;
        } catch (NoValidHostException e) {
            return false;
        }
    }

    /**
     * Gives {@code consumer}'s claim back. This replica's picture of the hosts shows the room
     * when it is next read ({@link #reread}, {@link #invalidate}), as the other replicas' do.
     */
    public void release(String consumer) {
        placement.release(consumer);
    }

    /** Gives {@code consumer}'s claim on {@code host} back; the next choice sees the room at once. */
    public void release(String consumer, String host) {
        placement.release(consumer);
        view.reread(host);
    }

    /** {@code consumer}'s claims become {@code owner}'s (a move's target becomes the server's). */
    public void transfer(String owner, String consumer) {
        placement.replace(owner, consumer);
    }

    /** Reads {@code host}'s usage again at once (a guest arrived or left there). */
    public void reread(String host) {
        view.reread(host);
    }

    /** Reads the hosts again before a choice that comes after the picture's short grace (a move failed). */
    public void invalidate() {
        view.invalidate();
    }

    /** Reads every host again before the next choice (an operator changed one, a move starts). */
    public void refresh() {
        view.refresh();
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
        return hosts.state(usage, Conductor.DEFAULT_ZONE, v.images(), v.instances());
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
}
