package io.stratus.scheduler.placement;

import java.util.EnumMap;
import java.util.Map;

/** Amounts of each resource class one consumer (an instance) needs on one host. */
public record ResourceRequest(Map<ResourceClass, Long> amounts) {
    public ResourceRequest {
        if (amounts.isEmpty()) {
            throw new IllegalArgumentException("a resource request asks for at least one resource");
        }
        amounts.forEach((rc, n) -> {
            if (n == null || n <= 0) {
                throw new IllegalArgumentException("a request for " + rc + " must be positive, not " + n);
            }
        });
        amounts = Map.copyOf(new EnumMap<>(amounts));
    }

    public static ResourceRequest of(long vcpus, long memoryMb, long diskGb) {
        Map<ResourceClass, Long> m = new EnumMap<>(ResourceClass.class);
        m.put(ResourceClass.VCPU, vcpus);
        m.put(ResourceClass.MEMORY_MB, memoryMb);
        if (diskGb > 0) {
            m.put(ResourceClass.DISK_GB, diskGb);
        }
        return new ResourceRequest(m);
    }
}
