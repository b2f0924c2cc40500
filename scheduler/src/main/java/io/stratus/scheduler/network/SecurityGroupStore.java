package io.stratus.scheduler.network;

import io.stratus.database.Sql;
import io.stratus.database.Transaction;
import io.stratus.scheduler.network.SecurityGroupRule.Direction;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * Security groups and their rules. Each project has one {@code default} group, made on first use
 * with Neutron's rules (all egress; ingress from the group's own members); every new group starts
 * with the egress rules. Equal rules in a group collide on their fingerprint: 409, never two.
 */
public final class SecurityGroupStore {
    private static final String GROUP_COLUMNS = "id, project_id, name, description, " + Columns.REVISION;
    private static final String RULE_COLUMNS = "id, security_group_id, project_id, direction, ethertype, protocol,"
            + " port_range_min, port_range_max, remote_ip_prefix, remote_group_id, description, fingerprint, "
            + Columns.REVISION;

    private final DataSource db;
    private final Sql sql;
    private final Clock clock;
    private final Consumer<Set<String>> hostsChanged;

    public SecurityGroupStore(DataSource db, Clock clock, Consumer<Set<String>> hostsChanged) {
        this.db = db;
        this.sql = new Sql(db);
        this.clock = clock;
        this.hostsChanged = hostsChanged;
    }

    /** The project's default group, made now with its rules if it has none yet. */
    public SecurityGroup ensureDefault(String projectId) {
        Optional<String> known = defaultId(projectId);
        if (known.isPresent()) {
            return get(known.get());
        }
        try {
            return Transaction.run(db, tx -> {
                String id = insertGroup(tx, projectId, SecurityGroup.DEFAULT, "Default security group");
                tx.update("INSERT INTO default_security_group (project_id, security_group_id) VALUES (?, ?)",
                        projectId, id);
                for (String ethertype : List.of("IPv4", "IPv6")) {
                    insertRule(tx, rule(id, projectId, Direction.INGRESS, ethertype, Optional.of(id)));
                }
                return find(tx, id).orElseThrow();
            });
        } catch (RuntimeException e) {
            if (Columns.collided(e)) {
                // Another request made it first: that one is the default.
                return get(defaultId(projectId).orElseThrow(() -> e));
            }
            throw e;
        }
    }

    private Optional<String> defaultId(String projectId) {
        return sql.one("SELECT security_group_id FROM default_security_group WHERE project_id = ?",
                r -> r.getString(1), projectId);
    }

    public SecurityGroup create(String projectId, String name, String description) {
        ensureDefault(projectId);
        if (name.equals(SecurityGroup.DEFAULT)) {
            throw NetworkException.conflict("SecurityGroupDefaultAlreadyExists",
                    "Default security group already exists.");
        }
        return Transaction.run(db, tx -> find(tx, insertGroup(tx, projectId, name, description)).orElseThrow());
    }

    /** Inserts a group with Neutron's egress rules for IPv4 and IPv6. */
    private String insertGroup(Sql tx, String projectId, String name, String description) {
        String id = UUID.randomUUID().toString();
        tx.update("INSERT INTO security_group (" + GROUP_COLUMNS + ") VALUES (" + Columns.marks(7) + ")", id,
                projectId, name, description, clock.instant(), clock.instant(), 0L);
        for (String ethertype : List.of("IPv4", "IPv6")) {
            insertRule(tx, rule(id, projectId, Direction.EGRESS, ethertype, Optional.empty()));
        }
        return id;
    }

    private SecurityGroupRule rule(String group, String projectId, Direction d, String ethertype,
                                   Optional<String> remoteGroup) {
        return new SecurityGroupRule(UUID.randomUUID().toString(), group, projectId, d, ethertype, Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), remoteGroup, "", Revision.first(clock.instant()));
    }

    public Optional<SecurityGroup> find(String id) {
        return find(sql, id);
    }

    private static Optional<SecurityGroup> find(Sql sql, String id) {
        List<SecurityGroupRule> rules = sql.list("SELECT " + RULE_COLUMNS + " FROM security_group_rule WHERE"
                + " security_group_id = ? ORDER BY created_at, id", SecurityGroupStore::ruleRow, id);
        return sql.one("SELECT " + GROUP_COLUMNS + " FROM security_group WHERE id = ?", r -> groupRow(r, rules), id);
    }

    public SecurityGroup get(String id) {
        return find(id).orElseThrow(() -> NetworkException.notFound("SecurityGroup", id));
    }

    /** Every group with its rules (two reads, not one per group). */
    public List<SecurityGroup> list() {
        Map<String, List<SecurityGroupRule>> rules = rules().stream()
                .collect(Collectors.groupingBy(SecurityGroupRule::securityGroupId));
        return sql.list("SELECT " + GROUP_COLUMNS + " FROM security_group ORDER BY created_at, id",
                r -> groupRow(r, rules.getOrDefault(r.getString("id"), List.of())));
    }

    public SecurityGroup update(String id, String name, String description) {
        SecurityGroup g = get(id);
        boolean isDefault = defaultId(g.projectId()).filter(id::equals).isPresent();
        if (!name.equals(g.name()) && (isDefault || name.equals(SecurityGroup.DEFAULT))) {
            throw NetworkException.conflict("SecurityGroupCannotUpdateDefault", "Updating default security group not"
                    + " allowed.");
        }
        sql.update("UPDATE security_group SET name = ?, description = ?, updated_at = ?, revision_number ="
                + " revision_number + 1 WHERE id = ?", name, description, clock.instant(), id);
        return get(id);
    }

    /** Deletes a group and its rules; 409 SecurityGroupInUse while a port is in it. */
    public void delete(String id, boolean admin) {
        SecurityGroup g = get(id);
        if (!admin && defaultId(g.projectId()).filter(id::equals).isPresent()) {
            throw NetworkException.conflict("SecurityGroupCannotRemoveDefault", "Insufficient rights for removing"
                    + " default security group.");
        }
        Set<String> hosts = Transaction.run(db, tx -> {
            if (tx.count("SELECT COUNT(*) FROM port_security_group WHERE security_group_id = ?", id) > 0) {
                throw NetworkException.conflict("SecurityGroupInUse", "Security Group " + id + " in use.");
            }
            Set<String> affected = HostNetworks.ofGroups(tx, List.of(id));
            tx.update("DELETE FROM security_group_rule WHERE remote_group_id = ?", id);
            tx.update("DELETE FROM security_group WHERE id = ?", id);
            HostNetworks.bump(tx, affected);
            return affected;
        });
        hostsChanged.accept(hosts);
    }

    /** Adds a rule to its group; 409 SecurityGroupRuleExists when the group has an equal rule. */
    public SecurityGroupRule addRule(SecurityGroupRule rule) {
        get(rule.securityGroupId());
        rule.remoteGroupId().ifPresent(this::get);
        Set<String> hosts;
        try {
            hosts = Transaction.run(db, tx -> {
                insertRule(tx, rule);
                Set<String> affected = HostNetworks.ofGroups(tx, List.of(rule.securityGroupId()));
                HostNetworks.bump(tx, affected);
                return affected;
            });
        } catch (RuntimeException e) {
            if (Columns.collided(e)) {
                String existing = sql.one("SELECT id FROM security_group_rule WHERE security_group_id = ? AND"
                        + " fingerprint = ?", r -> r.getString(1), rule.securityGroupId(), rule.fingerprint())
                        .orElse("");
                throw NetworkException.conflict("SecurityGroupRuleExists", "Security group rule already exists."
                        + " Rule id is " + existing + ".");
            }
            throw e;
        }
        hostsChanged.accept(hosts);
        return rule(rule.id()).orElseThrow();
    }

    private static void insertRule(Sql tx, SecurityGroupRule r) {
        tx.update("INSERT INTO security_group_rule (" + RULE_COLUMNS + ") VALUES (" + Columns.marks(15) + ")", r.id(),
                r.securityGroupId(), r.projectId(), r.direction().name(), r.ethertype(), r.protocol().orElse(null),
                r.portRangeMin().orElse(null), r.portRangeMax().orElse(null), r.remoteIpPrefix().orElse(null),
                r.remoteGroupId().orElse(null), r.description(), r.fingerprint(), r.revision().createdAt(),
                r.revision().updatedAt(), 0L);
    }

    public Optional<SecurityGroupRule> rule(String id) {
        return sql.one("SELECT " + RULE_COLUMNS + " FROM security_group_rule WHERE id = ?",
                SecurityGroupStore::ruleRow, id);
    }

    public List<SecurityGroupRule> rules() {
        return sql.list("SELECT " + RULE_COLUMNS + " FROM security_group_rule ORDER BY created_at, id",
                SecurityGroupStore::ruleRow);
    }

    public void deleteRule(String id) {
        SecurityGroupRule rule = rule(id).orElseThrow(() -> NetworkException.notFound("SecurityGroupRule", id));
        Set<String> hosts = Transaction.run(db, tx -> {
            Set<String> affected = HostNetworks.ofGroups(tx, List.of(rule.securityGroupId()));
            tx.update("DELETE FROM security_group_rule WHERE id = ?", id);
            HostNetworks.bump(tx, affected);
            return affected;
        });
        hostsChanged.accept(hosts);
    }

    public long countGroups(String projectId) {
        return sql.count("SELECT COUNT(*) FROM security_group WHERE project_id = ?", projectId);
    }

    public long countRules(String projectId) {
        return sql.count("SELECT COUNT(*) FROM security_group_rule WHERE project_id = ?", projectId);
    }

    /** Those of {@code ids} that name no group (for checking a port's groups). */
    List<String> missing(List<String> ids) {
        List<String> out = new ArrayList<>();
        for (String id : ids) {
            if (find(id).isEmpty()) {
                out.add(id);
            }
        }
        return out;
    }

    private static SecurityGroup groupRow(ResultSet r, List<SecurityGroupRule> rules) throws SQLException {
        return new SecurityGroup(r.getString("id"), r.getString("project_id"), r.getString("name"),
                r.getString("description"), rules, Columns.revision(r));
    }

    private static SecurityGroupRule ruleRow(ResultSet r) throws SQLException {
        return new SecurityGroupRule(r.getString("id"), r.getString("security_group_id"), r.getString("project_id"),
                Direction.valueOf(r.getString("direction")), r.getString("ethertype"), Columns.optional(r, "protocol"),
                Columns.optionalInt(r, "port_range_min"), Columns.optionalInt(r, "port_range_max"),
                Columns.optional(r, "remote_ip_prefix"), Columns.optional(r, "remote_group_id"),
                r.getString("description"), Columns.revision(r));
    }
}
