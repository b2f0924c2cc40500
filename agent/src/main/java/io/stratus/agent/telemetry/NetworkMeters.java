package io.stratus.agent.telemetry;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.stratus.agent.network.NetworkReconciler;

/** The host's tenant networks on /metrics: reconciles, failed ones, and what the last state holds. */
public final class NetworkMeters {
    private NetworkMeters() {
    }

    public static void register(MeterRegistry registry, NetworkReconciler reconciler, String host) {
        FunctionCounter.builder("stratus.agent.network.reconciles", reconciler, NetworkReconciler::reconciles)
                .description("network states applied (each new one, and the periodic repair)").tag("host", host)
                .register(registry);
        FunctionCounter.builder("stratus.agent.network.reconcile.failures", reconciler, NetworkReconciler::failures)
                .description("network states not fully applied").tag("host", host).register(registry);
        Gauge.builder("stratus.agent.network.networks", reconciler, r -> r.applied().getNetworksCount())
                .description("networks on this host").tag("host", host).register(registry);
        Gauge.builder("stratus.agent.network.ports", reconciler, r -> r.applied().getPortsCount())
                .description("ports bound to this host").tag("host", host).register(registry);
    }
}
