package io.stratus.scheduler.placement;

import java.util.Map;

/**
 * A host's inventories and what is allocated from them, as of {@code generation}: a claim made
 * on this view succeeds only if nothing changed the host since.
 */
public record ProviderUsage(String name, long generation, boolean disabled, Map<ResourceClass, Inventory> inventory,
                            Map<ResourceClass, Long> used) {
    public ProviderUsage {
        inventory = Map.copyOf(inventory);
        used = Map.copyOf(used);
    }

    /** What is left of {@code rc} (0 for a class the host does not offer). */
    public long free(ResourceClass rc) {
        Inventory inv = inventory.get(rc);
        return inv == null ? 0 : Math.max(0, inv.capacity() - used.getOrDefault(rc, 0L));
    }

    /** Whether the request fits what is left, class by class. */
    public boolean fits(ResourceRequest request) {
        for (Map.Entry<ResourceClass, Long> e : request.amounts().entrySet()) {
            if (free(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }
}
