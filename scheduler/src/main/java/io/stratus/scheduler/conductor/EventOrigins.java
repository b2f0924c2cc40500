package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.scheduler.compute.Migration;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import java.util.List;
import java.util.Optional;

/**
 * Whether an instance event may come from the host that wrote it. The writer is the host of the
 * event topic ({@code stratus.events.<host>}), which the brokers let only that host's agent write,
 * so it is known; the event's own {@code host} field is what the agent says and is believed only
 * as far as the writer may say it:
 *
 * <ul>
 *   <li>an event about a move ({@code migration_id}) comes from the move's source or target, and
 *       names one of them (the source reports a finished move with the target as host);</li>
 *   <li>any other event names its writer: the conductor then follows it only where the writer
 *       holds the instance (or holds a copy it must be told to delete);</li>
 *   <li>a failed createImage's event, which deletes its image, comes from the host of that
 *       server.</li>
 * </ul>
 *
 * Without this an agent could mark another host's server deleted (freeing its claims), claim it
 * arrived by migration, or delete any image.
 */
public final class EventOrigins {
    private final ServerStore servers;
    private final MigrationStore migrations;

    public EventOrigins(ServerStore servers, MigrationStore migrations) {
        this.servers = servers;
        this.migrations = migrations;
    }

    /** Why {@code writer} may not have written {@code e}; empty when it may. */
    public Optional<String> refusal(InstanceEvent e, String writer) {
        if (!e.getMigrationId().isEmpty()) {
            Optional<Migration> move = migrations.find(e.getMigrationId())
                    .filter(m -> m.serverId().equals(e.getInstanceId()));
            if (move.isEmpty()) {
                return Optional.of("it names migration " + e.getMigrationId() + ", which is not one of instance "
                        + e.getInstanceId());
            }
            // A list, not Set.of: a resize's record has the same host at both ends.
            List<String> ends = List.of(move.get().sourceHost(), move.get().destHost());
            if (!ends.contains(writer) || !ends.contains(e.getHost())) {
                return Optional.of("migration " + e.getMigrationId() + " runs between " + move.get().sourceHost()
                        + " and " + move.get().destHost());
            }
        } else if (!e.getHost().equals(writer)) {
            return Optional.of("it names host '" + e.getHost() + "'");
        }
        if (!e.getImageId().isEmpty() && e.hasFault()) {
            Optional<String> holder = servers.find(e.getInstanceId())
                    .or(() -> servers.findDeleted(e.getInstanceId())).flatMap(Server::host);
            if (!holder.equals(Optional.of(writer))) {
                return Optional.of("it fails image " + e.getImageId() + " of instance " + e.getInstanceId()
                        + ", which is on " + holder.orElse("no host"));
            }
        }
        return Optional.empty();
    }
}
