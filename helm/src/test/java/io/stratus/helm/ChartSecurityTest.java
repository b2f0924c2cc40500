package io.stratus.helm;

import static io.stratus.helm.ChartWorkloadsTest.env;
import static io.stratus.helm.RenderedChart.name;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.stratus.kafka.client.BusAcls;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.common.acl.AclBinding;
import org.junit.jupiter.api.Test;

/**
 * The chart's security: which peers each NetworkPolicy admits to each port, the bundled broker's
 * TLS and ACLs (the embedded broker's, BusAcls), a certificate per principal, and the agent's
 * privileges.
 */
class ChartSecurityTest {
    private static final KubernetesSerialization JSON = new KubernetesSerialization();
    private static final Object[] SECURED = {"bundled.enabled", true, "certManager.enabled", true,
            "certManager.issuerRef.name", "stratus-ca", "certManager.issuerRef.kind", "ClusterIssuer",
            "agent.hosts[0]", "h1", "agent.hosts[1]", "h10", "networkPolicy.nodeCidrs[0]", "192.0.2.0/24",
            "networkPolicy.apiFrom[0].namespaceSelector.matchLabels.team", "ingress"};

    @Test
    void byDefaultEachApiPortIsOpenToClientsAndOnlyTheApiPort() {
        RenderedChart chart = RenderedChart.render();

        for (String service : List.of("scheduler", "image-service")) {
            Map<String, Object> spec = spec(chart, "NetworkPolicy", name(service));
            assertThat(spec.get("policyTypes")).isEqualTo(List.of("Ingress"));
            assertThat(path(spec, "podSelector", "matchLabels")).isEqualTo(Map.of("app.kubernetes.io/name", "stratus",
                    "app.kubernetes.io/instance", RenderedChart.RELEASE, "app.kubernetes.io/component", service));
            List<Map<String, Object>> rules = list(spec.get("ingress"));
            assertThat(rules).hasSize(1);
            assertThat(list(rules.get(0).get("ports"))).containsExactly(Map.of("port", "http", "protocol", "TCP"));
            assertThat(rules.get(0)).as("no apiFrom: any client").doesNotContainKey("from");
        }
        assertThat(kind(chart, "NetworkPolicy")).hasSize(2);
    }

    @Test
    void withThePeersNamedEachPortAdmitsOnlyThem() {
        RenderedChart chart = RenderedChart.render(SECURED);
        Map<String, Object> ingressPeer = Map.of("namespaceSelector", Map.of("matchLabels", Map.of("team", "ingress")));
        Map<String, Object> nodes = Map.of("ipBlock", Map.of("cidr", "192.0.2.0/24"));
        Map<String, Object> prometheus = Map.of(
                "namespaceSelector", Map.of("matchLabels", Map.of("kubernetes.io/metadata.name", "monitoring")),
                "podSelector", Map.of("matchLabels", Map.of("app.kubernetes.io/name", "prometheus")));

        assertThat(from(chart, "scheduler", "http")).containsExactlyInAnyOrder(ingressPeer, nodes,
                release("image-service"), release("service-user"), prometheus);
        assertThat(from(chart, "image-service", "http")).containsExactlyInAnyOrder(ingressPeer, nodes,
                release("scheduler"), prometheus);
        assertThat(from(chart, "kafka", "kafka")).as("the control plane and the agents' nodes")
                .containsExactlyInAnyOrder(release("scheduler"), release("kafka-acls"), nodes);
        assertThat(from(chart, "postgresql", "postgresql")).containsExactly(release("scheduler"));
        assertThat(kind(chart, "NetworkPolicy")).hasSize(4);
    }

    @Test
    void theBundledBrokerRequiresClientCertificatesOnEveryListenerAndDeniesWhatNoAclAllows() {
        RenderedChart chart = RenderedChart.render(SECURED);
        StatefulSet kafka = chart.one(StatefulSet.class, name("kafka"));
        Container c = kafka.getSpec().getTemplate().getSpec().getContainers().get(0);

        assertThat(env(c, "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP").getValue()).isEqualTo("CONTROLLER:SSL,CLIENTS:SSL");
        assertThat(env(c, "KAFKA_LISTENERS").getValue()).isEqualTo("CLIENTS://:9092,CONTROLLER://localhost:9093");
        assertThat(env(c, "KAFKA_SSL_CLIENT_AUTH").getValue()).isEqualTo("required");
        assertThat(env(c, "KAFKA_AUTHORIZER_CLASS_NAME").getValue())
                .isEqualTo("org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        assertThat(env(c, "KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND").getValue()).isEqualTo("false");
        assertThat(env(c, "KAFKA_SUPER_USERS").getValue()).isEqualTo("User:stratus-control-plane;User:stratus-kafka");
        assertThat(env(c, "KAFKA_SSL_PRINCIPAL_MAPPING_RULES").getValue())
                .isEqualTo("RULE:^CN=([^,]+),O=Stratus$/$1/,DEFAULT");
        assertThat(c.getEnv()).extracting(EnvVar::getValue).noneMatch(v -> v != null && v.contains("PLAINTEXT"));
        assertThat(secretOf(kafka.getSpec().getTemplate().getSpec(), "tls")).isEqualTo(name("kafka-tls"));
        // The services connect with their own certificates.
        Container scheduler = chart.one(io.fabric8.kubernetes.api.model.apps.Deployment.class, name("scheduler"))
                .getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(env(scheduler, "KAFKA_TLS_CA").getValue()).isEqualTo("/etc/stratus/kafka-tls/ca.crt");
        assertThat(env(scheduler, "STRATUS_SCHEDULER_NEW_HOSTS_ENABLED").getValue()).isEqualTo("false");
    }

    @Test
    void certManagerIssuesOneCertificatePerPrincipalAndEachAgentMountsOnlyItsOwn() {
        RenderedChart chart = RenderedChart.render(SECURED);

        Map<String, String> commonNames = chart.custom("Certificate").stream().collect(Collectors.toMap(
                o -> o.getMetadata().getName(), o -> (String) spec(o).get("commonName")));
        assertThat(commonNames).containsExactlyInAnyOrderEntriesOf(Map.of(name("scheduler-kafka"),
                "stratus-control-plane", name("agent-h1"), "agent-h1", name("agent-h10"), "agent-h10", name("kafka"),
                "stratus-kafka"));
        for (GenericKubernetesResource cert : chart.custom("Certificate")) {
            Map<String, Object> spec = spec(cert);
            assertThat(path(spec, "privateKey", "encoding")).isEqualTo("PKCS8");
            assertThat(path(spec, "subject", "organizations")).isEqualTo(List.of("Stratus"));
            assertThat(spec.get("secretName")).isEqualTo(cert.getMetadata().getName() + "-tls");
            assertThat(path(spec, "issuerRef", "name")).isEqualTo("stratus-ca");
            assertThat(path(spec, "issuerRef", "kind")).isEqualTo("ClusterIssuer");
        }
        assertThat(spec(chart, "Certificate", name("agent-h1")).get("dnsNames")).isEqualTo(List.of("h1"));
        assertThat((List<Object>) spec(chart, "Certificate", name("kafka")).get("dnsNames")).contains((Object) "localhost",
                name("kafka"), name("kafka") + ".stratus.svc");

        for (String host : List.of("h1", "h10")) {
            DaemonSet agent = chart.one(DaemonSet.class, name("agent-" + host));
            PodSpec pod = agent.getSpec().getTemplate().getSpec();
            assertThat(pod.getNodeSelector()).containsEntry("kubernetes.io/hostname", host);
            assertThat(agent.getSpec().getSelector().getMatchLabels()).containsEntry("stratus.io/agent-host", host);
            assertThat(secretOf(pod, "kafka-tls")).isEqualTo(name("agent-" + host) + "-tls");
        }
        assertThat(chart.find(DaemonSet.class, name("agent"))).as("no agent shares a certificate").isEmpty();
    }

    @Test
    void withoutCertManagerTheOperatorsSecretsAreUsedAndTheBundledBrokerRefusesToStartWithoutThem() {
        assertThatThrownBy(() -> RenderedChart.render("bundled.enabled", true))
                .hasMessageContaining("bundled broker");
        RenderedChart chart = RenderedChart.render("bundled.enabled", true, "bundled.kafka.tlsSecret", "ops-broker",
                "kafka.tls.schedulerSecret", "ops-scheduler", "kafka.tls.agentSecretPrefix", "ops-agent-",
                "agent.hosts[0]", "h1");

        assertThat(chart.custom("Certificate")).isEmpty();
        assertThat(secretOf(chart.one(DaemonSet.class, name("agent-h1")).getSpec().getTemplate().getSpec(),
                "kafka-tls")).isEqualTo("ops-agent-h1");
        assertThat(secretOf(chart.one(StatefulSet.class, name("kafka")).getSpec().getTemplate().getSpec(), "tls"))
                .isEqualTo("ops-broker");
    }

    @Test
    void theAclJobGrantsEachAgentExactlyWhatTheEmbeddedBrokerGrantsIt() {
        RenderedChart chart = RenderedChart.renderWithHooks(SECURED);
        Job job = chart.one(Job.class, name("kafka-acls"));
        Container c = job.getSpec().getTemplate().getSpec().getContainers().get(0);
        String script = String.join("\n", c.getArgs());

        Set<String> granted = new HashSet<>();
        Matcher acl = Pattern.compile("(?m)^acl (.*)$").matcher(script);
        while (acl.find()) {
            granted.addAll(bindings(acl.group(1)));
        }
        Set<String> expected = new HashSet<>();
        for (String host : List.of("h1", "h10")) {
            for (AclBinding b : BusAcls.forAgent(host)) {
                expected.add(b.entry().principal() + " " + b.entry().operation() + " " + b.pattern().resourceType()
                        + " " + b.pattern().patternType() + " " + b.pattern().name());
            }
        }
        assertThat(granted).isEqualTo(expected);
        assertThat(secretOf(job.getSpec().getTemplate().getSpec(), "kafka-tls")).isEqualTo(name("scheduler-kafka")
                + "-tls");
    }

    @Test
    void theAgentIsPrivilegedOnlyWhereNoDevicePluginGivesItKvm() {
        Container privileged = agent(RenderedChart.render());
        assertThat(privileged.getSecurityContext().getPrivileged()).isTrue();

        Container confined = agent(RenderedChart.render("agent.privileged", false,
                "agent.deviceResources.devices\\.kubevirt\\.io/kvm", 1,
                "agent.deviceResources.devices\\.kubevirt\\.io/tun", 1));
        assertThat(confined.getSecurityContext().getPrivileged()).isFalse();
        assertThat(confined.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(confined.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(confined.getSecurityContext().getCapabilities().getAdd()).containsExactlyInAnyOrder("NET_ADMIN",
                "NET_RAW", "SYS_ADMIN", "SETUID", "SETGID");
        assertThat(confined.getResources().getLimits()).containsOnlyKeys("devices.kubevirt.io/kvm",
                "devices.kubevirt.io/tun");
    }

    /** One {@code kafka-acls.sh --add} line's arguments as "principal OPERATION TYPE PATTERN name" entries. */
    private static List<String> bindings(String args) {
        List<String> words = List.of(args.trim().split("\\s+"));
        String principal = null;
        String type = null;
        String resource = null;
        String pattern = "LITERAL";
        List<String> operations = new ArrayList<>();
        for (int i = 0; i < words.size(); i += 2) {
            String value = words.get(i + 1);
            switch (words.get(i)) {
                case "--allow-principal" -> principal = value;
                case "--operation" -> operations.add(value.toUpperCase(Locale.ROOT));
                case "--topic" -> {
                    type = "TOPIC";
                    resource = value;
                }
                case "--group" -> {
                    type = "GROUP";
                    resource = value;
                }
                case "--resource-pattern-type" -> pattern = value.toUpperCase(Locale.ROOT);
                default -> throw new AssertionError("unexpected argument " + words.get(i) + " in: acl " + args);
            }
        }
        List<String> out = new ArrayList<>();
        for (String op : operations) {
            out.add(principal + " " + op + " " + type + " " + pattern + " " + resource);
        }
        return out;
    }

    private static List<HasMetadata> kind(RenderedChart chart, String kind) {
        return chart.objects.stream().filter(o -> o.getKind().equals(kind)).toList();
    }

    private static Container agent(RenderedChart chart) {
        return chart.one(DaemonSet.class, name("agent")).getSpec().getTemplate().getSpec().getContainers().get(0);
    }

    private static String secretOf(PodSpec pod, String volume) {
        return pod.getVolumes().stream().filter(v -> v.getName().equals(volume)).map(Volume::getSecret).findFirst()
                .orElseThrow(() -> new AssertionError("no volume " + volume)).getSecretName();
    }

    private static Map<String, Object> release(String component) {
        return Map.of("podSelector", Map.of("matchLabels", Map.of("app.kubernetes.io/instance", RenderedChart.RELEASE,
                "app.kubernetes.io/component", component)));
    }

    /** The peers of the one rule of {@code component}'s policy, which must be for {@code port} alone. */
    private static List<Map<String, Object>> from(RenderedChart chart, String component, String port) {
        List<Map<String, Object>> rules = list(spec(chart, "NetworkPolicy", name(component)).get("ingress"));
        assertThat(rules).hasSize(1);
        assertThat(list(rules.get(0).get("ports"))).containsExactly(Map.of("port", port, "protocol", "TCP"));
        return list(rules.get(0).get("from"));
    }

    private static Map<String, Object> spec(RenderedChart chart, String kind, String name) {
        return spec(chart.objects.stream().filter(o -> o.getKind().equals(kind) && o.getMetadata().getName()
                .equals(name)).findFirst().orElseThrow(() -> new AssertionError(kind + " " + name + " not rendered")));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> spec(HasMetadata o) {
        return (Map<String, Object>) JSON.convertValue(o, Map.class).get("spec");
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Object o) {
        return (List<Map<String, Object>>) o;
    }

    @SuppressWarnings("unchecked")
    private static Object path(Map<String, Object> m, String... keys) {
        Object o = m;
        for (String k : keys) {
            o = ((Map<String, Object>) o).get(k);
        }
        return o;
    }
}
