package io.stratus.image.auth;

import java.time.Instant;
import java.util.Set;

/** Who a token stands for, as the Identity service told. */
public record Caller(String userId, String projectId, Set<String> roles, Instant expiresAt) {
    public Caller {
        roles = Set.copyOf(roles);
    }

    public boolean isAdmin() {
        return roles.contains("admin");
    }

    /** Whether the caller may change images: {@code member} or {@code admin}; {@code reader} only reads. */
    public boolean mayChange() {
        return isAdmin() || roles.contains("member");
    }

    /** Admins, and services such as compute agents, read every project's images. */
    public boolean readsAll() {
        return isAdmin() || roles.contains("service");
    }
}
