package io.stratus.scheduler.identity;

import java.time.Instant;
import java.util.Set;

/**
 * Who is calling, from a valid token: a user acting in one project with that project's roles.
 *
 * @param roles role names on the project ({@code admin}, {@code member})
 */
public record Caller(String userId, String userName, String projectId, String projectName, Set<String> roles,
                     Instant issuedAt, Instant expiresAt) {
    public static final String ADMIN = "admin";
    public static final String MEMBER = "member";
    /** Other Stratus services (compute agents): the image service lets them read every image. */
    public static final String SERVICE = "service";

    public Caller {
        roles = Set.copyOf(roles);
    }

    public boolean isAdmin() {
        return roles.contains(ADMIN);
    }
}
