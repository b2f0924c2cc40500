package io.stratus.scheduler.selection;

import io.stratus.scheduler.placement.ResourceClass;
import java.util.function.ToDoubleBiFunction;

/**
 * Scores a host for a request; higher is better. Scores are normalised across the candidates
 * (to 0..1) and multiplied by the weigher's multiplier before they are added, as Nova does, so
 * that weighers of different units can be combined; a negative multiplier turns spreading into
 * packing.
 */
public interface Weigher {
    double weigh(HostState host, RequestSpec request);

    double multiplier();

    /** Free memory: spread (multiplier > 0) or pack (< 0). */
    static Weigher ram(double multiplier) {
        return of(multiplier, (h, r) -> h.usage().free(ResourceClass.MEMORY_MB));
    }

    /** Free vCPUs. */
    static Weigher cpu(double multiplier) {
        return of(multiplier, (h, r) -> h.usage().free(ResourceClass.VCPU));
    }

    /** Hosts already running the request's image: identical guest pages merge there (KSM). */
    static Weigher sameImage(double multiplier) {
        return of(multiplier, (h, r) -> h.images().contains(r.imageId()) ? 1 : 0);
    }

    private static Weigher of(double multiplier, ToDoubleBiFunction<HostState, RequestSpec> f) {
        return new Weigher() {
            @Override
            public double weigh(HostState host, RequestSpec request) {
                return f.applyAsDouble(host, request);
            }

            @Override
            public double multiplier() {
                return multiplier;
            }
        };
    }
}
