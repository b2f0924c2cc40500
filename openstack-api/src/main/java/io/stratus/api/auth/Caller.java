package io.stratus.api.auth;

import java.time.Instant;
import java.util.Set;

/**
 * Who is calling, from a valid token: a user acting in one project with that project's roles, or
 * (an unscoped token, which only the Identity API accepts) in none.
 *
 * @param userName    null where the token check does not tell it
 * @param projectId   the token's project, null when unscoped
 * @param projectName null when unscoped, or where the token check does not tell it
 * @param roles       role names on the project ({@code admin}, {@code member}, {@code reader},
 *                    {@code service}); none when unscoped
 * @param issuedAt    null where the token check does not tell it
 */
public record Caller(String userId, String userName, String projectId, String projectName, Set<String> roles,
                     Instant issuedAt, Instant expiresAt) {
    public static final String ADMIN = "admin";
    public static final String MEMBER = "member";
    /** May read what its project owns and change nothing. */
    public static final String READER = "reader";
    /** Other Stratus services (compute agents): the image service lets them read every image. */
    public static final String SERVICE = "service";

    public Caller {
        roles = Set.copyOf(roles);
    }

    /** A caller known by its ids only, as a service that checks tokens remotely needs it. */
    public Caller(String userId, String projectId, Set<String> roles, Instant expiresAt) {
        this(userId, null, projectId, null, roles, null, expiresAt);
    }

    public boolean isAdmin() {
        return roles.contains(ADMIN);
    }

    public boolean scoped() {
        return projectId != null;
    }

    /** Whether the caller may change what its project owns: {@code member} or {@code admin}, not {@code reader}. */
    public boolean mayChange() {
        return roles.contains(ADMIN) || roles.contains(MEMBER);
    }

    /** Admins, and services such as compute agents, read every project's images. */
    public boolean readsAll() {
        return isAdmin() || roles.contains(SERVICE);
    }
}
