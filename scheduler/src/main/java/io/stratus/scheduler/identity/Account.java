package io.stratus.scheduler.identity;

/** A user and the project it works in unless a token names another. */
public record Account(String id, String name, String defaultProjectId) {
}
