package io.stratus.scheduler.identity;

/**
 * A user. Without a default project it authenticates unscoped unless it names a project, as in
 * Keystone; a disabled user can neither authenticate nor use the tokens it holds.
 *
 * @param defaultProjectId the project a token is scoped to when the request names none, or null
 */
public record Account(String id, String name, String defaultProjectId, boolean enabled) {
}
