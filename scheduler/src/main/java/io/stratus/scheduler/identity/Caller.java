package io.stratus.scheduler.identity;

import java.time.Instant;
import java.util.Set;

/**
 * Who is calling, from a valid token: a user acting in one project with that project's roles, or
 * (an unscoped token, which only the Identity API accepts) in none.
 *
 * @param projectId the token's project, null when unscoped
 * @param roles     role names on the project ({@code admin}, {@code member}, {@code reader}); none when unscoped
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
}
