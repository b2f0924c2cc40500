package io.stratus.agent.store;

import com.google.protobuf.InvalidProtocolBufferException;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The agent's records on local disk: instances and the requests applied to them. A record and
 * the result of the request that changed it are written in one transaction, before the command's
 * Kafka offset is committed, so a crash can lose neither.
 */
public final class AgentStore {
    /** The longest tenant id a record holds (its column's size). */
    public static final int MAX_TENANT_ID = 64;
    /** The longest instance name a record holds (its column's size). */
    public static final int MAX_NAME = 255;
    private static final String COLUMNS = "id, tenant_id, name, state, task_state, resources, previous_resources, boot,"
            + " fault, launched_at, sequence, snapshotted, pending_request, power_state";

    private final DataSource dataSource;

    public AgentStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Writes the record (insert or replace). */
    public void save(InstanceRecord record) {
        inTransaction(c -> upsert(c, record));
    }

    /** Writes the record and marks {@code requestId} applied with {@code events} as its answer, atomically. */
    public void saveApplied(InstanceRecord record, String requestId, List<InstanceEvent> events) {
        inTransaction(c -> {
            upsert(c, record);
            insertApplied(c, requestId, record.id(), events);
        });
    }

    /** Marks a request applied that changed no record (an error answer, for example). */
    public void markApplied(String requestId, String instanceId, List<InstanceEvent> events) {
        inTransaction(c -> insertApplied(c, requestId, instanceId, events));
    }

    /** The events that answered {@code requestId}, if it was applied. */
    public Optional<List<InstanceEvent>> appliedEvents(String requestId) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement s = c.prepareStatement("SELECT events FROM applied_request WHERE request_id = ?")) {
            s.setString(1, requestId);
            try (ResultSet r = s.executeQuery()) {
                return r.next() ? Optional.of(decodeEvents(r.getBytes(1))) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new StoreException("cannot read request " + requestId + ": " + e.getMessage(), e);
        }
    }

    public Optional<InstanceRecord> find(String id) {
        List<InstanceRecord> found = query("SELECT " + COLUMNS + " FROM instance WHERE id = ?", id);
        return found.isEmpty() ? Optional.empty() : Optional.of(found.get(0));
    }

    /** Every record, deleted ones included, oldest first. */
    public List<InstanceRecord> all() {
        return query("SELECT " + COLUMNS + " FROM instance ORDER BY updated_at, id");
    }

    private List<InstanceRecord> query(String sql, String... args) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setString(i + 1, args[i]);
            }
            List<InstanceRecord> out = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(read(r));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StoreException("cannot read instance records: " + e.getMessage(), e);
        }
    }

    private static InstanceRecord read(ResultSet r) throws SQLException {
        String id = r.getString("id");
        try {
            byte[] previous = r.getBytes("previous_resources");
            byte[] fault = r.getBytes("fault");
            Timestamp launched = r.getTimestamp("launched_at");
            String pending = r.getString("pending_request");
            return new InstanceRecord(id, r.getString("tenant_id"), r.getString("name"),
                    InstanceState.valueOf(r.getString("state")), TaskState.valueOf(r.getString("task_state")),
                    PowerState.valueOf(r.getString("power_state")),
                    Resources.parseFrom(r.getBytes("resources")),
                    previous == null ? Optional.empty() : Optional.of(Resources.parseFrom(previous)),
                    Boot.parseFrom(r.getBytes("boot")),
                    fault == null ? Optional.empty() : Optional.of(Fault.parseFrom(fault)),
                    launched == null ? Optional.empty() : Optional.of(launched.toInstant()), r.getLong("sequence"),
                    r.getBoolean("snapshotted"), Optional.ofNullable(pending));
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
            throw new StoreException("the record of instance " + id + " is corrupt: " + e.getMessage(), e);
        }
    }

    private static void upsert(Connection c, InstanceRecord rec) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("MERGE INTO instance (" + COLUMNS + ", updated_at) KEY (id)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            s.setString(1, rec.id());
            s.setString(2, rec.tenantId());
            s.setString(3, rec.name());
            s.setString(4, rec.state().name());
            s.setString(5, rec.task().name());
            s.setBytes(6, rec.resources().toByteArray());
            s.setBytes(7, rec.previousResources().map(Resources::toByteArray).orElse(null));
            s.setBytes(8, rec.boot().toByteArray());
            s.setBytes(9, rec.fault().map(Fault::toByteArray).orElse(null));
            s.setTimestamp(10, rec.launchedAt().map(Timestamp::from).orElse(null));
            s.setLong(11, rec.sequence());
            s.setBoolean(12, rec.snapshotted());
            s.setString(13, rec.pendingRequest().orElse(null));
            s.setString(14, rec.power().name());
            s.setTimestamp(15, Timestamp.from(Instant.now()));
            s.executeUpdate();
        }
    }

    private static void insertApplied(Connection c, String requestId, String instanceId, List<InstanceEvent> events)
            throws SQLException {
        try (PreparedStatement s = c.prepareStatement(
                "INSERT INTO applied_request (request_id, instance_id, events, applied_at) VALUES (?, ?, ?, ?)")) {
            s.setString(1, requestId);
            s.setString(2, instanceId);
            s.setBytes(3, encodeEvents(events));
            s.setTimestamp(4, Timestamp.from(Instant.now()));
            s.executeUpdate();
        }
    }

    static byte[] encodeEvents(List<InstanceEvent> events) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            for (InstanceEvent e : events) {
                e.writeDelimitedTo(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static List<InstanceEvent> decodeEvents(byte[] bytes) {
        List<InstanceEvent> events = new ArrayList<>();
        ByteArrayInputStream in = new ByteArrayInputStream(bytes);
        try {
            InstanceEvent e;
            while ((e = InstanceEvent.parseDelimitedFrom(in)) != null) {
                events.add(e);
            }
        } catch (IOException e) {
            throw new StoreException("a stored request result is corrupt: " + e.getMessage(), e);
        }
        return events;
    }

    private interface Work {
        void run(Connection c) throws SQLException;
    }

    private void inTransaction(Work work) {
        try (Connection c = dataSource.getConnection()) {
            boolean auto = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                work.run(c);
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(auto);
            }
        } catch (SQLException e) {
            throw new StoreException("cannot write the agent's records: " + e.getMessage(), e);
        }
    }
}
