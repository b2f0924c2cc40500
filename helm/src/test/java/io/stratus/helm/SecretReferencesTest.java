package io.stratus.helm;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SecretKeySelector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every Secret a container reads is one the chart renders, or one the values say exists. */
class SecretReferencesTest {

    static List<Arguments> valueSets() {
        return List.of(
                Arguments.of("defaults", new Object[0], Map.of()),
                Arguments.of("bundled", new Object[] {"bundled.enabled", true, "certManager.enabled", true,
                        "certManager.issuerRef.name", "stratus-ca", "agent.hosts[0]", "node-1", "agent.hosts[1]", "node-2"}, Map.of()),
                Arguments.of("existing secrets", new Object[] {
                        "scheduler.adminPassword.existingSecret", "ops-admin",
                        "scheduler.adminPassword.existingSecretKey", "admin-password",
                        "agent.serviceUser.existingSecret", "ops-agent",
                        "agent.serviceUser.existingSecretKey", "agent-password",
                        "postgresql.existingSecret", "ops-db",
                        "postgresql.existingSecretPasswordKey", "db-password",
                        "metadataService.sharedSecret.existingSecret", "ops-metadata",
                        "metadataService.sharedSecret.existingSecretKey", "proxy-secret"},
                        Map.of("ops-admin", Set.of("admin-password"), "ops-agent", Set.of("agent-password"),
                                "ops-db", Set.of("db-password"), "ops-metadata", Set.of("proxy-secret"))),
                Arguments.of("bundled beside an existing PostgreSQL secret (ignored)", new Object[] {
                        "bundled.enabled", true, "postgresql.existingSecret", "ops-db", "certManager.enabled", true,
                        "certManager.issuerRef.name", "stratus-ca", "agent.hosts[0]", "node-1"}, Map.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void containersReadOnlySecretKeysThatExist(String label, Object[] sets, Map<String, Set<String>> existing) {
        RenderedChart chart = RenderedChart.renderWithHooks(sets);
        List<String> dangling = new ArrayList<>();
        int references = 0;

        for (Map.Entry<String, PodSpec> pod : chart.podSpecs().entrySet()) {
            for (Container c : RenderedChart.containers(pod.getValue()).toList()) {
                for (EnvVar e : Optional.ofNullable(c.getEnv()).orElse(List.of())) {
                    SecretKeySelector ref = e.getValueFrom() == null ? null : e.getValueFrom().getSecretKeyRef();
                    if (ref == null) {
                        continue;
                    }
                    references++;
                    Optional<Set<String>> keys = chart.secretKeys(ref.getName())
                            .or(() -> Optional.ofNullable(existing.get(ref.getName())));
                    if (keys.isEmpty() || !keys.get().contains(ref.getKey())) {
                        dangling.add(pod.getKey() + " " + c.getName() + " " + e.getName() + " -> " + ref.getName()
                                + "/" + ref.getKey());
                    }
                }
                for (EnvFromSource from : Optional.ofNullable(c.getEnvFrom()).orElse(List.of())) {
                    if (from.getSecretRef() != null) {
                        references++;
                        String secret = from.getSecretRef().getName();
                        if (chart.secretKeys(secret).isEmpty() && !existing.containsKey(secret)) {
                            dangling.add(pod.getKey() + " " + c.getName() + " envFrom -> " + secret);
                        }
                    }
                }
            }
        }

        // scheduler: database, admin and metadata secret; agent: service user and metadata secret; the
        // service-user Job: admin and service user.
        assertThat(chart.podSpecs()).containsKey("Job/" + RenderedChart.name("service-user"));
        assertThat(references).isGreaterThanOrEqualTo(7);
        assertThat(dangling).isEmpty();
        // A Secret given in values replaces the chart's own.
        existing.keySet().forEach(name -> assertThat(chart.secretKeys(name)).isEmpty());
    }
}
