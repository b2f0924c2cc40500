package io.stratus.scheduler.compute;

/** A size servers are booted with. */
public record Flavor(String id, String name, int vcpus, long ramMib, long diskGib, boolean isPublic) {
}
