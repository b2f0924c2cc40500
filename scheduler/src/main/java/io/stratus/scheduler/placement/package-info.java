/**
 * Placement: per-host resource inventories, allocations per instance, and claims that never
 * over-commit a host, also with several scheduler replicas on one database. A claim is a
 * compare-and-swap on the host's generation in the same transaction that writes the allocations.
 */
package io.stratus.scheduler.placement;
