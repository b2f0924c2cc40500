package io.stratus.scheduler.identity;

import io.stratus.api.auth.Caller;
import io.stratus.database.Sql;
import io.stratus.scheduler.exception.Conflict;
import io.stratus.scheduler.exception.NotFound;
import io.stratus.scheduler.exception.Unauthenticated;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Projects, users, role assignments and tokens, in the scheduler's database so that every replica
 * accepts every token. A token is 32 random bytes; only its sha256 is stored.
 */
public final class IdentityStore {
    private static final Logger LOG = Logger.getLogger(IdentityStore.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<String> ROLES = Set.of(Caller.ADMIN, Caller.MEMBER, Caller.READER, Caller.SERVICE);
    /** Every authentication failure reads the same: which part was wrong is not told. */
    private static final String DENIED = "The request you have made requires authentication.";

    /** How long a successful password check is remembered (see {@link PasswordCheck}). */
    private static final Duration REMEMBER_LOGINS = Duration.ofMinutes(15);

    private final Sql sql;
    private final Clock clock;
    private final Duration lifetime;
    private final Lockout lockout;
    final PasswordCheck passwords = new PasswordCheck(REMEMBER_LOGINS);

    public IdentityStore(DataSource db, Clock clock, Duration lifetime, Lockout lockout) {
        this.sql = new Sql(db);
        this.clock = clock;
        this.lifetime = lifetime;
        this.lockout = lockout;
    }

    /** The roles that exist. */
    public static Set<String> roles() {
        return ROLES;
    }

    /**
     * Creates the first admin (user, project, admin role) when there is no user at all; only then
     * is {@code password} asked for.
     */
    public void bootstrap(String user, Supplier<String> password, String project) {
        if (sql.count("SELECT COUNT(*) FROM account") > 0) {
            return;
        }
        Project p = project(project).orElseGet(() -> createProject(project, "administrators"));
        Account a = createUser(user, password.get(), p.id());
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
        Account a = new Account(newId(), name, projectId, true);
        update("user '" + name + "' exists already",
                "INSERT INTO account (id, name, password_hash, project_id, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                a.id(), a.name(), PasswordHash.hash(password), projectId, true, clock.instant());
        return a;
    }

    /** What an update of a user changes; empty parts stay as they are. */
    public record UserChange(Optional<String> name, Optional<String> password, Optional<Optional<String>> defaultProjectId,
                             Optional<Boolean> enabled) {
    }

    /**
     * Changes a user. A new password or disabling the user revokes every token it holds, as
     * Keystone does: whoever had them must authenticate again.
     */
    public Account updateUser(String accountId, UserChange change) {
        Account a = account(accountId).filter(x -> x.id().equals(accountId))
                .orElseThrow(() -> new NotFound("Could not find user: " + accountId));
        String name = change.name().orElse(a.name());
        String project = change.defaultProjectId().map(p -> p.orElse(null)).orElse(a.defaultProjectId());
        boolean enabled = change.enabled().orElse(a.enabled());
        update("user '" + name + "' exists already", "UPDATE account SET name = ?, project_id = ?, enabled = ? WHERE id = ?",
                name, project, enabled, a.id());
        change.password().ifPresent(pw -> sql.update("UPDATE account SET password_hash = ? WHERE id = ?",
                PasswordHash.hash(pw), a.id()));
        if (change.password().isPresent() || !enabled) {
            sql.update("DELETE FROM auth_token WHERE account_id = ?", a.id());
        }
        if (change.password().isPresent() || change.enabled().orElse(false)) {
            // As in Keystone, an admin unlocks a user by enabling it (or giving it a new password).
            sql.update("UPDATE account SET failed_logins = 0, last_failed_login = NULL WHERE id = ?", a.id());
        }
        return new Account(a.id(), name, project, enabled);
    }

    /** A user changes its own password, proving the old one; every token it holds is revoked. */
    public void changePassword(String accountId, String original, String password) {
        String hash = sql.one("SELECT password_hash FROM account WHERE id = ?", r -> r.getString(1), accountId)
                .orElseThrow(() -> new NotFound("Could not find user: " + accountId));
        if (!passwords.matches(accountId, original, hash, clock.instant())) {
            throw new Unauthenticated(DENIED);
        }
        updateUser(accountId, new UserChange(Optional.empty(), Optional.of(password), Optional.empty(), Optional.empty()));
    }

    /** Deletes a user with its role assignments and tokens. */
    public void deleteUser(String accountId) {
        if (sql.update("DELETE FROM account WHERE id = ?", accountId) == 0) {
            throw new NotFound("Could not find user: " + accountId);
        }
    }

    public Project updateProject(String projectId, Optional<String> name, Optional<String> description) {
        Project p = project(projectId).filter(x -> x.id().equals(projectId))
                .orElseThrow(() -> new NotFound("Could not find project: " + projectId));
        Project changed = new Project(p.id(), name.orElse(p.name()), description.orElse(p.description()));
        update("project '" + changed.name() + "' exists already", "UPDATE project SET name = ?, description = ? WHERE id = ?",
                changed.name(), changed.description(), p.id());
        return changed;
    }

    /**
     * Deletes a project with its role assignments and the tokens scoped to it. Users whose default
     * it was keep no default; what the project owned in compute stays for an admin to clean up, as
     * with Keystone and Nova.
     */
    public void deleteProject(String projectId) {
        sql.update("UPDATE account SET project_id = NULL WHERE project_id = ?", projectId);
        if (sql.update("DELETE FROM project WHERE id = ?", projectId) == 0) {
            throw new NotFound("Could not find project: " + projectId);
        }
    }

    public void assignRole(String accountId, String projectId, String role) {
        if (!ROLES.contains(role)) {
            throw new NotFound("Could not find role: " + role + " (the roles are " + ROLES + ")");
        }
        if (!roles(accountId, projectId).contains(role)) {
            update("the role is assigned already",
                    "INSERT INTO role_assignment (account_id, project_id, role) VALUES (?, ?, ?)",
                    accountId, projectId, role);
        }
    }

    /**
     * Takes a role away. Tokens carry no roles of their own (each use reads the assignments), so
     * the change holds at once; a token left with no role on its project stops working.
     */
    public void unassignRole(String accountId, String projectId, String role) {
        if (sql.update("DELETE FROM role_assignment WHERE account_id = ? AND project_id = ? AND role = ?",
                accountId, projectId, role) == 0) {
            throw new NotFound("Could not find role assignment with role: " + role + ", user or group: "
                    + accountId + ", project, domain, or system: " + projectId + ".");
        }
    }

    /** A role assignment: a user's role on a project. */
    public record Assignment(String accountId, String projectId, String role) {
    }

    /** Role assignments, narrowed to a user and/or a project when given. */
    public List<Assignment> assignments(Optional<String> accountId, Optional<String> projectId) {
        List<String> where = new ArrayList<>();
        List<Object> args = new ArrayList<>();
        accountId.ifPresent(a -> {
            where.add("account_id = ?");
            args.add(a);
        });
        projectId.ifPresent(p -> {
            where.add("project_id = ?");
            args.add(p);
        });
        return sql.list("SELECT account_id, project_id, role FROM role_assignment"
                        + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where))
                        + " ORDER BY account_id, project_id, role",
                r -> new Assignment(r.getString(1), r.getString(2), r.getString(3)), args.toArray());
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

    private static final String ACCOUNT_COLUMNS = "id, name, project_id, enabled";

    private static Account account(java.sql.ResultSet r) throws java.sql.SQLException {
        return new Account(r.getString(1), r.getString(2), r.getString(3), r.getBoolean(4));
    }

    /** A user by id or, failing that, by name. */
    public Optional<Account> account(String idOrName) {
        return sql.one("SELECT " + ACCOUNT_COLUMNS + " FROM account WHERE id = ? OR name = ?"
                        + " ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END",
                IdentityStore::account, idOrName, idOrName, idOrName);
    }

    public List<Account> accounts() {
        return sql.list("SELECT " + ACCOUNT_COLUMNS + " FROM account ORDER BY name", IdentityStore::account);
    }

    public Set<String> roles(String accountId, String projectId) {
        return new HashSet<>(sql.list("SELECT role FROM role_assignment WHERE account_id = ? AND project_id = ?",
                r -> r.getString(1), accountId, projectId));
    }

    /** An issued token: the secret to hand out once, and what it is. */
    public record Issued(String secret, Token token) {
        public Caller caller() {
            return token.caller();
        }
    }

    /**
     * Checks a password and issues a token scoped to {@code projectIdOrName}; without one, to the
     * user's default project, or unscoped when it has none.
     */
    public Issued authenticate(String user, String password, Optional<String> projectIdOrName) {
        record Row(Account account, String hash, int failures, Instant lastFailure) {
        }
        Optional<Row> found = sql.one("SELECT " + ACCOUNT_COLUMNS + ", password_hash, failed_logins, last_failed_login"
                        + " FROM account WHERE name = ? OR id = ? ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END",
                r -> new Row(account(r), r.getString(5), r.getInt(6),
                        r.getTimestamp(7) == null ? null : r.getTimestamp(7).toInstant()), user, user, user);
        if (found.isEmpty()) {
            passwords.spend(password, null); // as long as a wrong password takes: no telling who exists
            throw new Unauthenticated(DENIED);
        }
        Row row = found.get();
        Instant now = clock.instant();
        if (lockout.locked(row.failures(), row.lastFailure(), now)) {
            // Refused right or wrong, after the same work: neither the answer nor its time tells.
            passwords.spend(password, row.hash());
            LOG.warnf("login of user %s refused: locked after %d failed logins, until %s", row.account().name(),
                    row.failures(), row.lastFailure().plus(lockout.duration()));
            throw new Unauthenticated(DENIED);
        }
        if (!passwords.matches(row.account().id(), password, row.hash(), now)) {
            failedLogin(row.account(), now);
            throw new Unauthenticated(DENIED);
        }
        if (!row.account().enabled()) {
            throw new Unauthenticated(DENIED);
        }
        if (row.failures() > 0) {
            sql.update("UPDATE account SET failed_logins = 0, last_failed_login = NULL WHERE id = ?", row.account().id());
        }
        if (PasswordHash.outdated(row.hash())) {
            // Stored anew at today's iterations, conditional on the hash read: a concurrent change wins.
            sql.update("UPDATE account SET password_hash = ? WHERE id = ? AND password_hash = ?",
                    PasswordHash.hash(password), row.account().id(), row.hash());
        }
        String audit = newAuditId();
        return issue(row.account(), projectIdOrName, List.of("password"), audit, audit, now.plus(lifetime));
    }

    /** Counts a failed login; failures older than the lockout duration start the count again. */
    private void failedLogin(Account account, Instant now) {
        Instant windowStart = now.minus(lockout.duration());
        sql.update("UPDATE account SET failed_logins = CASE WHEN last_failed_login IS NULL OR last_failed_login <= ?"
                + " THEN 1 ELSE failed_logins + 1 END, last_failed_login = ? WHERE id = ?", windowStart, now, account.id());
        if (lockout.failureAttempts() > 0) {
            sql.one("SELECT failed_logins FROM account WHERE id = ?", r -> r.getInt(1), account.id())
                    .filter(n -> n == lockout.failureAttempts())
                    .ifPresent(n -> LOG.warnf("user %s locked out for %s after %d failed logins", account.name(),
                            lockout.duration(), n));
        }
    }

    /**
     * A token for the scheduler's own calls to other services (the image service), as
     * {@code user} in its default project: the scheduler is the Identity service and needs no
     * password to vouch for itself.
     */
    public Issued issueFor(String user) {
        String audit = newAuditId();
        return issue(account(user).orElseThrow(() -> new IllegalStateException("no user " + user)), Optional.empty(),
                List.of("password"), audit, audit, clock.instant().plus(lifetime));
    }

    /**
     * A new token for the user of a valid one, possibly for another of its projects. As in
     * Keystone it joins the audit chain of the token it came from and expires with it: rescoping
     * never extends a token's life.
     */
    public Issued rescope(Token from, Optional<String> projectIdOrName) {
        Account account = account(from.caller().userId()).orElseThrow(() -> new Unauthenticated(DENIED));
        List<String> methods = new ArrayList<>(List.of("token"));
        from.methods().stream().filter(m -> !m.equals("token")).forEach(methods::add);
        return issue(account, projectIdOrName, methods, newAuditId(), from.auditChainId(), from.caller().expiresAt());
    }

    private Issued issue(Account account, Optional<String> projectIdOrName, List<String> methods, String auditId,
                         String chainId, Instant expires) {
        Optional<String> wanted = projectIdOrName.or(() -> Optional.ofNullable(account.defaultProjectId()));
        Project project = null;
        Set<String> roles = Set.of();
        if (wanted.isPresent()) {
            project = project(wanted.get()).orElseThrow(() -> new Unauthenticated("no project " + wanted.get()));
            roles = roles(account.id(), project.id());
            if (roles.isEmpty()) {
                throw new Unauthenticated("user " + account.name() + " has no role on project " + project.name());
            }
        }
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        // The database keeps microseconds (and may round): what is answered now must be what validation reads back.
        Instant issued = clock.instant().truncatedTo(ChronoUnit.MICROS);
        expires = expires.truncatedTo(ChronoUnit.MICROS);
        String projectId = project == null ? null : project.id();
        update("token collision",
                "INSERT INTO auth_token (digest, account_id, project_id, issued_at, expires_at, audit_id, audit_chain_id,"
                        + " methods) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                digest(token), account.id(), projectId, issued, expires, auditId, chainId, String.join(",", methods));
        Caller caller = new Caller(account.id(), account.name(), projectId, project == null ? null : project.name(),
                roles, issued, expires);
        return new Issued(token, new Token(caller, methods, auditId, chainId));
    }

    /** Who a token stands for, if it is valid and unexpired. */
    public Optional<Caller> caller(String token) {
        return token(token).map(Token::caller);
    }

    /**
     * A valid, unexpired token of an enabled user. A scoped token whose user has lost every role
     * on its project is no longer valid.
     */
    public Optional<Token> token(String token) {
        if (token == null || token.isEmpty() || token.length() > 256) {
            return Optional.empty();
        }
        record Row(String user, String userName, String project, String projectName, Instant issued, Instant expires,
                   String methods, String auditId, String chainId) {
        }
        Optional<Row> row = sql.one("SELECT t.account_id, a.name, t.project_id, p.name, t.issued_at, t.expires_at,"
                        + " t.methods, t.audit_id, t.audit_chain_id"
                        + " FROM auth_token t JOIN account a ON a.id = t.account_id LEFT JOIN project p ON p.id = t.project_id"
                        + " WHERE t.digest = ? AND t.expires_at > ? AND a.enabled = TRUE",
                r -> new Row(r.getString(1), r.getString(2), r.getString(3), r.getString(4),
                        r.getTimestamp(5).toInstant(), r.getTimestamp(6).toInstant(), r.getString(7), r.getString(8),
                        r.getString(9)),
                digest(token), clock.instant());
        if (row.isEmpty()) {
            return Optional.empty();
        }
        Row r = row.get();
        Set<String> roles = r.project() == null ? Set.of() : roles(r.user(), r.project());
        if (r.project() != null && roles.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Token(new Caller(r.user(), r.userName(), r.project(), r.projectName(), roles, r.issued(),
                r.expires()), List.of(r.methods().split(",")), r.auditId(), r.chainId()));
    }

    /**
     * Revokes a token and, when it began its audit chain, every token rescoped from it (Keystone
     * revokes by audit chain).
     */
    public void revoke(String token) {
        Optional<String> chain = sql.one("SELECT audit_chain_id FROM auth_token WHERE digest = ? AND audit_id = audit_chain_id",
                r -> r.getString(1), digest(token));
        sql.update("DELETE FROM auth_token WHERE digest = ?", digest(token));
        chain.ifPresent(c -> sql.update("DELETE FROM auth_token WHERE audit_chain_id = ?", c));
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
                throw new Conflict(onDuplicate);
            }
            throw e;
        }
    }

    /** Keystone's audit ids: 16 random bytes, url-safe base64 without padding (22 characters). */
    private static String newAuditId() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
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
