package io.stratus.scheduler.compute;

import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import io.stratus.database.Sql;
import io.stratus.database.Where;
import io.stratus.scheduler.keypairs.KeyType;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The servers. Every change of a server's task is one conditional UPDATE (on its current state or
 * request), so that scheduler replicas acting on one server at once never both win.
 */
public final class ServerStore {
    private static final String COLUMNS = "id, name, project_id, user_id, flavor_id, pending_flavor_id, vcpus, ram_mib,"
            + " disk_gib, image_id, availability_zone, server_group_id, vm_state, task_state, host, request_id,"
            + " task_started_at, tried_hosts, attempts, event_sequence, fault_code, fault_message, launched_at,"
            + " created_at, updated_at, source_host, power_state, key_name, key_type, key_data, locked_by, access_ipv4,"
            + " access_ipv6, user_data, config_drive, hostname, reservation_id, launch_index, kernel_id, ramdisk_id";

    private final Sql sql;
    private final Clock clock;

    public ServerStore(DataSource db, Clock clock) {
        this.sql = new Sql(db);
        this.clock = clock;
    }

    public void insert(Server s) {
        sql.update("INSERT INTO server (" + COLUMNS + ", deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                        + " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE)",
                s.id(), s.name(), s.projectId(), s.userId(), s.flavorId(), s.pendingFlavorId().orElse(null), s.vcpus(),
                s.ramMib(), s.diskGib(), s.imageId(), s.availabilityZone(), s.serverGroupId().orElse(null),
                s.vmState().name(), s.taskState().name(), s.host().orElse(null), s.requestId(), s.taskStartedAt(),
                String.join(",", s.triedHosts()), s.attempts(), s.eventSequence(),
                s.fault().map(Server.Fault::code).orElse(null), s.fault().map(Server.Fault::message).orElse(null),
                s.launchedAt().orElse(null), s.createdAt(), s.updatedAt(), s.sourceHost().orElse(null),
                power(s.powerState()), s.key().map(Server.Key::name).orElse(null),
                s.key().map(k -> k.type().name()).orElse(null), s.key().map(Server.Key::publicKey).orElse(null),
                s.lockedBy().orElse(null), s.accessIpv4(), s.accessIpv6(), s.launch().userData().orElse(null),
                s.launch().configDrive(), s.launch().hostname(), s.launch().reservationId(), s.launch().launchIndex(),
                s.launch().kernelId(), s.launch().ramdiskId());
    }

    /** A server that is not deleted. */
    public Optional<Server> find(String id) {
        return sql.one("SELECT " + COLUMNS + " FROM server WHERE id = ? AND deleted = FALSE", ServerStore::row, id);
    }

    /** A server that has been deleted (its row stays, marked). */
    public Optional<Server> findDeleted(String id) {
        return sql.one("SELECT " + COLUMNS + " FROM server WHERE id = ? AND deleted = TRUE", ServerStore::row, id);
    }

    /**
     * Which servers a listing asks for. With {@code changedSince}, deleted servers changed since
     * then are listed too, as Nova does, so that a poller learns of deletions.
     */
    public record Query(Optional<String> projectId, Optional<InstanceState> state, Optional<String> host,
                        Optional<String> flavorId, Optional<String> imageId, Optional<Instant> changedSince) {
        public static Query project(String projectId) {
            return new Query(Optional.of(projectId), Optional.empty(), Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.empty());
        }

        /** Every project's servers on {@code host}. */
        public static Query host(String host) {
            return new Query(Optional.empty(), Optional.empty(), Optional.of(host), Optional.empty(),
                    Optional.empty(), Optional.empty());
        }
    }

    /** Servers newest first. */
    public List<Server> list(Query q) {
        Where where = new Where("1 = 1");
        if (q.changedSince().isPresent()) {
            where.and("updated_at >= ?", q.changedSince().get());
        } else {
            where.and("deleted = FALSE");
        }
        q.projectId().ifPresent(p -> where.and("project_id = ?", p));
        q.state().ifPresent(s -> where.and("vm_state = ?", s.name()));
        q.host().ifPresent(h -> where.and("host = ?", h));
        q.flavorId().ifPresent(f -> where.and("flavor_id = ?", f));
        q.imageId().ifPresent(i -> where.and("image_id = ?", i));
        return sql.list("SELECT " + COLUMNS + " FROM server" + where.sql() + " ORDER BY created_at DESC, id",
                ServerStore::row, where.args());
    }

    /** What a project uses, for quotas: instances, cores, RAM (MiB). */
    public record Usage(long instances, long cores, long ramMib) {
    }

    public Usage usage(String projectId) {
        return sql.one("SELECT COUNT(*), COALESCE(SUM(vcpus), 0), COALESCE(SUM(ram_mib), 0) FROM server"
                        + " WHERE project_id = ? AND deleted = FALSE",
                r -> new Usage(r.getLong(1), r.getLong(2), r.getLong(3)), projectId).orElse(new Usage(0, 0, 0));
    }

    /** Servers that are not deleted, by vm_state. */
    public Map<InstanceState, Long> countByState() {
        Map<InstanceState, Long> out = new EnumMap<>(InstanceState.class);
        for (Map.Entry<String, Long> e : sql.list("SELECT vm_state, COUNT(*) FROM server WHERE deleted = FALSE"
                + " GROUP BY vm_state", r -> Map.entry(r.getString(1), r.getLong(2)))) {
            out.put(InstanceState.valueOf(e.getKey()), e.getValue());
        }
        return out;
    }

    /** Where a placed server sits: host, image and group, for the filters and weighers. */
    public record Placed(String id, String host, String imageId, Optional<String> serverGroupId) {
    }

    public List<Placed> placed() {
        return sql.list("SELECT id, host, image_id, server_group_id FROM server WHERE deleted = FALSE AND host IS NOT NULL",
                r -> new Placed(r.getString(1), r.getString(2), r.getString(3),
                        Optional.ofNullable(r.getString(4))), new Object[0]);
    }

    public List<String> membersOf(String serverGroupId) {
        return sql.list("SELECT id FROM server WHERE server_group_id = ? AND deleted = FALSE", r -> r.getString(1),
                serverGroupId);
    }

    /**
     * Starts a task on a server that has none and is in one of {@code from}: the request's task
     * becomes the server's. False when the server is busy, gone or in another state.
     */
    public boolean startTask(String id, String requestId, TaskState task, InstanceState... from) {
        StringBuilder in = new StringBuilder();
        List<Object> args = new ArrayList<>(List.of(requestId, task.name(), now(), now(), id));
        for (InstanceState s : from) {
            in.append(in.length() == 0 ? "?" : ", ?");
            args.add(s.name());
        }
        return sql.update("UPDATE server SET request_id = ?, task_state = ?, task_started_at = ?, updated_at = ?,"
                + " fault_code = NULL, fault_message = NULL WHERE id = ? AND deleted = FALSE AND task_state = 'NONE'"
                + " AND vm_state IN (" + in + ")", args.toArray()) == 1;
    }

    /** Starts deleting, whatever the server is doing (delete wins over every other task). */
    public boolean startDelete(String id, String requestId) {
        return sql.update("UPDATE server SET request_id = ?, task_state = ?, task_started_at = ?, updated_at = ?"
                + " WHERE id = ? AND deleted = FALSE", requestId, TaskState.DELETING.name(), now(), now(), id) == 1;
    }

    /** Records the host a boot attempt of {@code requestId} goes to. */
    public boolean assign(String id, String requestId, String host, List<String> triedHosts, int attempts) {
        return sql.update("UPDATE server SET host = ?, tried_hosts = ?, attempts = ?, event_sequence = 0,"
                        + " vm_state = ?, task_state = ?, task_started_at = ?, updated_at = ?"
                        + " WHERE id = ? AND request_id = ? AND deleted = FALSE",
                host, String.join(",", triedHosts), attempts, InstanceState.BUILD.name(), TaskState.SPAWNING.name(),
                now(), now(), id, requestId) == 1;
    }

    /**
     * Moves a live-migrated server to {@code host} and ends the migration's task; only while
     * {@code requestId}'s migration is its task (the source's and the target's reports of one
     * switch-over both arrive: the first moves it).
     */
    public boolean moveTo(String id, String requestId, String host) {
        return sql.update("UPDATE server SET host = ?, task_state = ?, updated_at = ?"
                        + " WHERE id = ? AND request_id = ? AND task_state = ? AND deleted = FALSE",
                host, TaskState.NONE.name(), now(), id, requestId, TaskState.MIGRATING_LIVE.name()) == 1;
    }

    /**
     * Moves a cold-moved server to {@code host}, remembering {@code source} for confirm or
     * revert; only while {@code requestId}'s move is its task.
     */
    public boolean moveForResize(String id, String requestId, String host, String source) {
        return sql.update("UPDATE server SET host = ?, source_host = ?, task_state = ?, updated_at = ?"
                        + " WHERE id = ? AND request_id = ? AND task_state = ? AND deleted = FALSE",
                host, source, TaskState.NONE.name(), now(), id, requestId, TaskState.RESIZE_MIGRATING.name()) == 1;
    }

    /**
     * Starts reverting a cold move: the server is its source host's again (events from there
     * count anew), under {@code requestId}'s revert task.
     */
    public boolean startRevertMove(String id, String requestId, String source) {
        return sql.update("UPDATE server SET host = ?, source_host = NULL, event_sequence = 0, request_id = ?,"
                        + " task_state = ?, task_started_at = ?, updated_at = ?, fault_code = NULL, fault_message = NULL"
                        + " WHERE id = ? AND deleted = FALSE AND task_state = 'NONE' AND vm_state = ?"
                        + " AND source_host = ?",
                source, requestId, TaskState.RESIZE_REVERTING.name(), now(), now(), id,
                InstanceState.VERIFY_RESIZE.name(), source) == 1;
    }

    /** Forgets a confirmed cold move's source. */
    public void clearSourceHost(String id) {
        sql.update("UPDATE server SET source_host = NULL, updated_at = ? WHERE id = ?", now(), id);
    }

    /** Servers waiting in VERIFY_RESIZE (no task) since before {@code before}: due for automatic confirm. */
    public List<Server> awaitingConfirmSince(Instant before) {
        return sql.list("SELECT " + COLUMNS + " FROM server WHERE deleted = FALSE AND vm_state = ? AND task_state = 'NONE'"
                + " AND updated_at < ?", ServerStore::row, InstanceState.VERIFY_RESIZE.name(), before);
    }

    /**
     * Takes a server at rest in one of {@code from} off {@code failedHost} to be booted again
     * elsewhere (an evacuation): it waits for placement under {@code newRequestId} as a new boot
     * does, with {@code failedHost} tried already and its attempts counted afresh. False when the
     * server is busy, gone, on another host or in another state.
     */
    public boolean startEvacuation(String id, String newRequestId, String failedHost, InstanceState... from) {
        StringBuilder in = new StringBuilder();
        List<Object> args = new ArrayList<>(List.of(newRequestId, TaskState.SCHEDULING.name(), InstanceState.BUILD.name(),
                failedHost, now(), now(), id, failedHost));
        for (InstanceState s : from) {
            in.append(in.length() == 0 ? "?" : ", ?");
            args.add(s.name());
        }
        return sql.update("UPDATE server SET host = NULL, request_id = ?, task_state = ?, vm_state = ?, tried_hosts = ?,"
                + " attempts = 0, task_started_at = ?, updated_at = ?, fault_code = NULL, fault_message = NULL"
                + " WHERE id = ? AND host = ? AND deleted = FALSE AND task_state = 'NONE' AND vm_state IN (" + in + ")",
                args.toArray()) == 1;
    }

    /** Takes a server off its host before a reschedule; only if {@code requestId} still owns it. */
    public boolean unassign(String id, String requestId, String newRequestId) {
        return sql.update("UPDATE server SET host = NULL, request_id = ?, task_state = ?, task_started_at = ?,"
                        + " updated_at = ? WHERE id = ? AND request_id = ? AND deleted = FALSE",
                newRequestId, TaskState.SCHEDULING.name(), now(), now(), id, requestId) == 1;
    }

    /**
     * Applies an agent event of {@code host} with {@code sequence}: older or replayed events, and
     * events from a host the server has left, change nothing.
     *
     * @param power the guest's power; unspecified (an agent older than the field) keeps what is known
     */
    public boolean applyEvent(String id, String host, long sequence, InstanceState state, TaskState task,
                              PowerState power, Optional<Server.Fault> fault, Optional<Instant> launchedAt) {
        return sql.update("UPDATE server SET vm_state = ?, task_state = ?, power_state = COALESCE(?, power_state),"
                        + " event_sequence = ?, fault_code = ?, fault_message = ?,"
                        + " launched_at = COALESCE(?, launched_at), updated_at = ?"
                        + " WHERE id = ? AND host = ? AND event_sequence < ? AND deleted = FALSE",
                state.name(), task.name(), power(power), sequence, fault.map(Server.Fault::code).orElse(null),
                fault.map(Server.Fault::message).orElse(null), launchedAt.orElse(null), now(), id, host,
                sequence) == 1;
    }

    /** The column's value: NULL for unspecified, so that COALESCE keeps what an earlier event said. */
    private static String power(PowerState p) {
        return p == PowerState.POWER_STATE_UNSPECIFIED || p == PowerState.UNRECOGNIZED ? null : p.name();
    }

    /** Ends {@code requestId}'s task in ERROR with {@code fault}; false if another request owns it now. */
    public boolean fail(String id, String requestId, Server.Fault fault) {
        return sql.update("UPDATE server SET vm_state = ?, task_state = ?, fault_code = ?, fault_message = ?,"
                        + " updated_at = ? WHERE id = ? AND request_id = ? AND deleted = FALSE",
                InstanceState.ERROR.name(), TaskState.NONE.name(), fault.code(), truncate(fault.message()), now(), id,
                requestId) == 1;
    }

    /** Gives up {@code requestId}'s task, leaving the server's state as it was, with a fault. */
    public boolean abandonTask(String id, String requestId, Server.Fault fault) {
        return sql.update("UPDATE server SET task_state = ?, fault_code = ?, fault_message = ?, updated_at = ?"
                        + " WHERE id = ? AND request_id = ? AND deleted = FALSE",
                TaskState.NONE.name(), fault.code(), truncate(fault.message()), now(), id, requestId) == 1;
    }

    public boolean markDeleted(String id) {
        return sql.update("UPDATE server SET deleted = TRUE, vm_state = ?, task_state = ?, updated_at = ?"
                + " WHERE id = ? AND deleted = FALSE", InstanceState.DELETED.name(), TaskState.NONE.name(), now(), id) == 1;
    }

    public void setPendingFlavor(String id, Optional<String> flavorId) {
        sql.update("UPDATE server SET pending_flavor_id = ?, updated_at = ? WHERE id = ?", flavorId.orElse(null), now(),
                id);
    }

    /**
     * A rebuild's image, with the kernel and ramdisk it names (and the name, when it gives one),
     * become the server's.
     */
    public void rebuildWith(String id, String imageId, String kernelId, String ramdiskId, Optional<String> name) {
        if (name.isPresent()) {
            sql.update("UPDATE server SET image_id = ?, kernel_id = ?, ramdisk_id = ?, name = ?, updated_at = ?"
                    + " WHERE id = ?", imageId, kernelId, ramdiskId, name.get(), now(), id);
        } else {
            sql.update("UPDATE server SET image_id = ?, kernel_id = ?, ramdisk_id = ?, updated_at = ? WHERE id = ?",
                    imageId, kernelId, ramdiskId, now(), id);
        }
    }

    /** The password the server's guest posted to the metadata service (encrypted by it), if any. */
    public Optional<String> guestPassword(String id) {
        return sql.one("SELECT guest_password FROM server WHERE id = ? AND deleted = FALSE", r -> Optional.ofNullable(
                r.getString(1)), id).flatMap(p -> p);
    }

    /**
     * Keeps the password a server's guest posts, once: false when it has one already (Nova's 409)
     * or the server is gone. One conditional UPDATE, so of two racing posts one wins.
     */
    public boolean setGuestPassword(String id, String password) {
        return sql.update("UPDATE server SET guest_password = ? WHERE id = ? AND deleted = FALSE"
                + " AND guest_password IS NULL", password, id) == 1;
    }

    /** Forgets the guest's password (Nova's {@code DELETE os-server-password}), so that it may post a new one. */
    public void clearGuestPassword(String id) {
        sql.update("UPDATE server SET guest_password = NULL WHERE id = ? AND deleted = FALSE", id);
    }

    /** What a tenant changes with {@code PUT /servers/{id}}: its name and access addresses. */
    public void rename(String id, String name, String accessIpv4, String accessIpv6) {
        sql.update("UPDATE server SET name = ?, access_ipv4 = ?, access_ipv6 = ?, updated_at = ? WHERE id = ?"
                + " AND deleted = FALSE", name, accessIpv4, accessIpv6, now(), id);
    }

    /** Locks the server ({@code by} is owner or admin) or, with empty, unlocks it. */
    public void lock(String id, Optional<String> by) {
        sql.update("UPDATE server SET locked_by = ?, updated_at = ? WHERE id = ? AND deleted = FALSE", by.orElse(null),
                now(), id);
    }

    /** The resize's flavor becomes the server's. */
    public void adoptFlavor(String id, Flavor f) {
        sql.update("UPDATE server SET flavor_id = ?, pending_flavor_id = NULL, vcpus = ?, ram_mib = ?, disk_gib = ?,"
                + " updated_at = ? WHERE id = ?", f.id(), f.vcpus(), f.ramMib(), f.diskGib(), now(), id);
    }

    /** Servers with a task that started before {@code before}. */
    public List<Server> stuckSince(Instant before) {
        return sql.list("SELECT " + COLUMNS + " FROM server WHERE deleted = FALSE AND task_state <> 'NONE'"
                + " AND task_started_at < ?", ServerStore::row, before);
    }

    private Instant now() {
        return clock.instant();
    }

    /** A fault message cut to what its column holds (2048 characters). */
    static String truncate(String s) {
        return s.length() <= 2048 ? s : s.substring(0, 2045) + "...";
    }

    private static PowerState powerOf(String column) {
        if (column == null) {
            return PowerState.POWER_STATE_UNSPECIFIED;
        }
        try {
            return PowerState.valueOf(column);
        } catch (IllegalArgumentException e) {
            // Written by a newer scheduler that knows more power states: unknown here.
            return PowerState.POWER_STATE_UNSPECIFIED;
        }
    }

    private static Optional<Server.Key> keyOf(ResultSet r) throws SQLException {
        String name = r.getString("key_name");
        return name == null ? Optional.empty() : Optional.of(new Server.Key(name,
                KeyType.valueOf(r.getString("key_type")), r.getString("key_data")));
    }

    private static Server row(ResultSet r) throws SQLException {
        String tried = r.getString("tried_hosts");
        String faultCode = r.getString("fault_code");
        return new Server(r.getString("id"), r.getString("name"), r.getString("project_id"), r.getString("user_id"),
                r.getString("flavor_id"), Optional.ofNullable(r.getString("pending_flavor_id")), r.getInt("vcpus"),
                r.getLong("ram_mib"), r.getLong("disk_gib"), r.getString("image_id"), r.getString("availability_zone"),
                Optional.ofNullable(r.getString("server_group_id")), InstanceState.valueOf(r.getString("vm_state")),
                TaskState.valueOf(r.getString("task_state")), Optional.ofNullable(r.getString("host")),
                r.getString("request_id"), r.getTimestamp("task_started_at").toInstant(),
                tried.isEmpty() ? List.of() : Arrays.asList(tried.split(",")), r.getInt("attempts"),
                r.getLong("event_sequence"),
                faultCode == null ? Optional.empty() : Optional.of(new Server.Fault(faultCode, r.getString("fault_message"))),
                Sql.instant(r, "launched_at"), r.getTimestamp("created_at").toInstant(),
                r.getTimestamp("updated_at").toInstant(), Optional.ofNullable(r.getString("source_host")),
                powerOf(r.getString("power_state")), keyOf(r), Optional.ofNullable(r.getString("locked_by")),
                r.getString("access_ipv4"), r.getString("access_ipv6"), launchOf(r));
    }

    private static Server.Launch launchOf(ResultSet r) throws SQLException {
        String hostname = r.getString("hostname");
        // A server made before hostnames were kept gets the one its name gives (Nova's, for one server).
        return new Server.Launch(Optional.ofNullable(r.getString("user_data")), r.getBoolean("config_drive"),
                hostname.isEmpty() ? Hostname.of(r.getString("name"), r.getString("id"), 0, 1) : hostname,
                r.getString("reservation_id"), r.getInt("launch_index"), r.getString("kernel_id"),
                r.getString("ramdisk_id"));
    }
}
