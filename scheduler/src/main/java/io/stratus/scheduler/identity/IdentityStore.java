package io.stratus.scheduler.identity;

import io.stratus.api.ApiException;
import io.stratus.database.Sql;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Projects, users, role assignments and tokens, in the scheduler's database so that every replica
 * accepts every token. A token is 32 random bytes; only its sha256 is stored.
 */
public final class IdentityStore {
    private static final Logger LOG = Logger.getLogger(IdentityStore.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<String> ROLES = Set.of(Caller.ADMIN, Caller.MEMBER, "reader", Caller.SERVICE);
    /** Every authentication failure reads the same: which part was wrong is not told. */
    private static final String DENIED = "The request you have made requires authentication.";

    private final Sql sql;
    private final Clock clock;
    private final Duration lifetime;

    public IdentityStore(DataSource db, Clock clock, Duration lifetime) {
        this.sql = new Sql(db);
        this.clock = clock;
        this.lifetime = lifetime;
    }

    /** The roles that exist. */
    public static Set<String> roles() {
        return ROLES;
    }

    /** Creates the first admin (user, project, admin role) when there is no user at all. */
    public void bootstrap(String user, String password, String project) {
        if (sql.count("SELECT COUNT(*) FROM account") > 0) {
            return;
        }
        Project p = project(project).orElseGet(() -> createProject(project, "administrators"));
        Account a = createUser(user, password, p.id());
        assignRole(a.id(), p.id(), Caller.ADMIN);
        LOG.infof("created the first administrator '%s' in project '%s'", user, project);
    }

    public Project createProject(String name, String description) {
        Project p = new Project(newId(), name, description);
        update("project '" + name + "' exists already",
                "INSERT INTO project (id, name, description, created_at) VALUES (?, ?, ?, ?)",
                p.id(), p.name(), p.description(), clock.instant());
        return p;
    }

    public Account createUser(String name, String password, String projectId) {
        Account a = new Account(newId(), name, projectId);
        update("user '" + name + "' exists already",
                "INSERT INTO account (id, name, password_hash, project_id, created_at) VALUES (?, ?, ?, ?, ?)",
                a.id(), a.name(), PasswordHash.hash(password), projectId, clock.instant());
        return a;
    }

    public void assignRole(String accountId, String projectId, String role) {
        if (!ROLES.contains(role)) {
            throw ApiException.notFound("no role '" + role + "'; the roles are " + ROLES);
        }
        if (!roles(accountId, projectId).contains(role)) {
            update("the role is assigned already",
                    "INSERT INTO role_assignment (account_id, project_id, role) VALUES (?, ?, ?)",
                    accountId, projectId, role);
        }
    }

    /** A project by id or, failing that, by name. */
    public Optional<Project> project(String idOrName) {
        return sql.one("SELECT id, name, description FROM project WHERE id = ? OR name = ?"
                        + " ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END",
                r -> new Project(r.getString(1), r.getString(2), r.getString(3)), idOrName, idOrName, idOrName);
    }

    public List<Project> projects() {
        return sql.list("SELECT id, name, description FROM project ORDER BY name",
                r -> new Project(r.getString(1), r.getString(2), r.getString(3)));
    }

    /** A user by id or, failing that, by name. */
    public Optional<Account> account(String idOrName) {
        return sql.one("SELECT id, name, project_id FROM account WHERE id = ? OR name = ?"
                        + " ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END",
                r -> new Account(r.getString(1), r.getString(2), r.getString(3)), idOrName, idOrName, idOrName);
    }

    public List<Account> accounts() {
        return sql.list("SELECT id, name, project_id FROM account ORDER BY name",
                r -> new Account(r.getString(1), r.getString(2), r.getString(3)));
    }

    public Set<String> roles(String accountId, String projectId) {
        return new HashSet<>(sql.list("SELECT role FROM role_assignment WHERE account_id = ? AND project_id = ?",
                r -> r.getString(1), accountId, projectId));
    }

    /** An issued token: the secret to hand out once, and who it stands for. */
    public record Issued(String token, Caller caller) {
    }

    /**
     * Checks a password and issues a token scoped to {@code projectIdOrName} (the user's default
     * project when empty).
     */
    public Issued authenticate(String user, String password, Optional<String> projectIdOrName) {
        record Row(Account account, String hash) {
        }
        Row row = sql.one("SELECT id, name, project_id, password_hash FROM account WHERE name = ? OR id = ?",
                        r -> new Row(new Account(r.getString(1), r.getString(2), r.getString(3)), r.getString(4)),
                        user, user)
                .orElseThrow(() -> ApiException.unauthorized(DENIED));
        if (!PasswordHash.matches(password, row.hash())) {
            throw ApiException.unauthorized(DENIED);
        }
        return issue(row.account(), projectIdOrName);
    }

    /**
     * A token for the scheduler's own calls to other services (the image service), as
     * {@code user} in its default project: the scheduler is the Identity service and needs no
     * password to vouch for itself.
     */
    public Issued issueFor(String user) {
        return issue(account(user).orElseThrow(() -> new IllegalStateException("no user " + user)), Optional.empty());
    }

    /** A new token for the user of a valid one, possibly for another of its projects. */
    public Issued rescope(Caller caller, Optional<String> projectIdOrName) {
        return issue(account(caller.userId()).orElseThrow(() -> ApiException.unauthorized(DENIED)), projectIdOrName);
    }

    private Issued issue(Account account, Optional<String> projectIdOrName) {
        String wanted = projectIdOrName.orElse(account.defaultProjectId());
        Project project = project(wanted).orElseThrow(() -> ApiException.unauthorized("no project " + wanted));
        Set<String> roles = roles(account.id(), project.id());
        if (roles.isEmpty()) {
            throw ApiException.unauthorized("user " + account.name() + " has no role on project " + project.name());
        }
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        Instant issued = clock.instant();
        Instant expires = issued.plus(lifetime);
        update("token collision",
                "INSERT INTO auth_token (digest, account_id, project_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                digest(token), account.id(), project.id(), issued, expires);
        return new Issued(token, new Caller(account.id(), account.name(), project.id(), project.name(), roles,
                issued, expires));
    }

    /** Who a token stands for, if it is valid and unexpired. */
    public Optional<Caller> caller(String token) {
        if (token == null || token.isEmpty() || token.length() > 256) {
            return Optional.empty();
        }
        record Row(String user, String userName, String project, String projectName, Instant issued, Instant expires) {
        }
        Optional<Row> row = sql.one("SELECT t.account_id, a.name, t.project_id, p.name, t.issued_at, t.expires_at"
                        + " FROM auth_token t JOIN account a ON a.id = t.account_id JOIN project p ON p.id = t.project_id"
                        + " WHERE t.digest = ? AND t.expires_at > ?",
                r -> new Row(r.getString(1), r.getString(2), r.getString(3), r.getString(4),
                        r.getTimestamp(5).toInstant(), r.getTimestamp(6).toInstant()),
                digest(token), clock.instant());
        if (row.isEmpty()) {
            return Optional.empty();
        }
        Row r = row.get();
        Set<String> roles = roles(r.user(), r.project());
        return roles.isEmpty() ? Optional.empty()
                : Optional.of(new Caller(r.user(), r.userName(), r.project(), r.projectName(), roles, r.issued(),
                r.expires()));
    }

    public void revoke(String token) {
        sql.update("DELETE FROM auth_token WHERE digest = ?", digest(token));
    }

    /** Drops expired tokens; returns how many. */
    public int purgeExpired() {
        return sql.update("DELETE FROM auth_token WHERE expires_at <= ?", clock.instant());
    }

    private void update(String onDuplicate, String statement, Object... args) {
        try {
            sql.update(statement, args);
        } catch (Sql.SqlException e) {
            if (e.duplicate()) {
                throw ApiException.conflict(onDuplicate);
            }
            throw e;
        }
    }

    private static String newId() {
        return UUID.randomUUID().toString().replace("-", "");
    }

    private static String digest(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
