package io.stratus.helm;

import static io.stratus.helm.RenderedChart.name;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ChartWorkloadsTest {
    private static RenderedChart chart;

    @BeforeAll
    static void render() {
        chart = RenderedChart.render();
    }

    @Test
    void agentRunsPrivilegedOnKvmNodesInTheHostNetwork() {
        DaemonSet agent = chart.one(DaemonSet.class, name("agent"));
        PodSpec pod = agent.getSpec().getTemplate().getSpec();
        Container c = pod.getContainers().get(0);

        assertThat(c.getSecurityContext().getPrivileged()).isTrue();
        assertThat(pod.getHostNetwork()).isTrue();
        assertThat(pod.getDnsPolicy()).isEqualTo("ClusterFirstWithHostNet");
        assertThat(env(c, "QUARKUS_HTTP_HOST").getValue()).as("the host's own address, not every interface")
                .isEqualTo("$(HOST_IP)");
        assertThat(pod.getNodeSelector()).containsExactly(Map.entry("stratus.io/kvm", "true"));
        assertThat(c.getPorts()).extracting(p -> p.getName() + ":" + p.getContainerPort() + ":" + p.getHostPort())
                .containsExactly("http:8081:8081", "grpc:8082:8082");
        assertThat(env(c, "STRATUS_AGENT_GRPC_ADDRESS").getValue()).isEqualTo("$(HOST_IP):8082");
    }

    @Test
    void agentMountsKvmAndTunFromTheHostAsCharacterDevices() {
        PodSpec pod = chart.one(DaemonSet.class, name("agent")).getSpec().getTemplate().getSpec();
        Container c = pod.getContainers().get(0);

        for (String device : new String[] {"/dev/kvm", "/dev/net/tun"}) {
            VolumeMount mount = c.getVolumeMounts().stream().filter(m -> m.getMountPath().equals(device)).findFirst()
                    .orElseThrow(() -> new AssertionError("no mount at " + device));
            Volume volume = volume(pod, mount.getName());
            assertThat(volume.getHostPath().getPath()).isEqualTo(device);
            assertThat(volume.getHostPath().getType()).isEqualTo("CharDevice");
        }
        VolumeMount data = c.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/var/lib/stratus/agent"))
                .findFirst().orElseThrow();
        assertThat(volume(pod, data.getName()).getHostPath().getPath()).isEqualTo("/var/lib/stratus/agent");
        assertThat(env(c, "STRATUS_AGENT_DATA_DIR").getValue()).isEqualTo("/var/lib/stratus/agent");
    }

    @Test
    void agentTakesItsHostNameFromTheNodeAndItsCapacityFromValues() {
        RenderedChart sized = RenderedChart.render("agent.capacity.vcpus", 64, "agent.capacity.memoryMib", 262144);
        Container c = sized.one(DaemonSet.class, name("agent")).getSpec().getTemplate().getSpec().getContainers()
                .get(0);

        assertThat(env(c, "STRATUS_AGENT_HOST").getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
        assertThat(env(c, "STRATUS_AGENT_CAPACITY_VCPUS").getValue()).isEqualTo("64");
        assertThat(env(c, "STRATUS_AGENT_CAPACITY_MEMORY_MIB").getValue()).isEqualTo("262144");
        assertThat(env(c, "STRATUS_AGENT_IMAGE_SERVICE_URL").getValue())
                .isEqualTo("http://" + name("image-service") + ".stratus.svc:9292/image");
        assertThat(env(c, "STRATUS_AGENT_IMAGE_SERVICE_IDENTITY_URL").getValue())
                .isEqualTo("http://" + name("scheduler") + ".stratus.svc:8774/identity/v3");
        assertThat(env(c, "STRATUS_AGENT_IMAGE_SERVICE_PASSWORD").getValueFrom().getSecretKeyRef().getName())
                .isEqualTo(name("agent-service-user"));
        assertThat(env(c, "KAFKA_BOOTSTRAP_SERVERS").getValue()).isEqualTo("kafka:9092");
    }

    @Test
    void schedulerRunsTwoReplicasProbedOnQuarkusHealth() {
        Deployment scheduler = chart.one(Deployment.class, name("scheduler"));
        Container c = scheduler.getSpec().getTemplate().getSpec().getContainers().get(0);

        assertThat(scheduler.getSpec().getReplicas()).isEqualTo(2);
        assertProbe(c.getLivenessProbe(), "/q/health/live");
        assertProbe(c.getReadinessProbe(), "/q/health/ready");
        assertThat(c.getImage()).isEqualTo("docker.io/stratus/scheduler:0.1.0-SNAPSHOT");
        assertThat(env(c, "STRATUS_SCHEDULER_DB_URL").getValue()).isEqualTo("jdbc:postgresql://postgresql:5432/stratus");
        assertThat(env(c, "STRATUS_SCHEDULER_IMAGE_URL").getValue())
                .isEqualTo("http://" + name("image-service") + ".stratus.svc:9292/image");
        assertThat(env(c, "STRATUS_SCHEDULER_PUBLIC_URL").getValue())
                .isEqualTo("http://" + name("scheduler") + ".stratus.svc:8774");
        assertThat(env(c, "QUARKUS_HTTP_HOST").getValue()).isEqualTo("0.0.0.0");
        assertThat(env(c, "STRATUS_SCHEDULER_ADMIN_PASSWORD").getValueFrom().getSecretKeyRef().getName())
                .isEqualTo(name("admin"));
    }

    @Test
    void imageServiceKeepsItsDataOnAClaimAndIsReplacedNotRolled() {
        Deployment images = chart.one(Deployment.class, name("image-service"));
        PodSpec pod = images.getSpec().getTemplate().getSpec();
        Container c = pod.getContainers().get(0);
        PersistentVolumeClaim claim = chart.one(PersistentVolumeClaim.class, name("image-service"));

        assertThat(images.getSpec().getReplicas()).isEqualTo(1);
        assertThat(images.getSpec().getStrategy().getType()).isEqualTo("Recreate");
        assertThat(claim.getSpec().getAccessModes()).containsExactly("ReadWriteOnce");
        assertThat(claim.getSpec().getResources().getRequests().get("storage").toString()).isEqualTo("50Gi");
        VolumeMount data = c.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/var/lib/stratus/images"))
                .findFirst().orElseThrow();
        assertThat(volume(pod, data.getName()).getPersistentVolumeClaim().getClaimName()).isEqualTo(name("image-service"));
        assertThat(env(c, "STRATUS_IMAGE_IDENTITY_URL").getValue())
                .isEqualTo("http://" + name("scheduler") + ".stratus.svc:8774/identity/v3");
        assertProbe(c.getLivenessProbe(), "/q/health/live");
        assertProbe(c.getReadinessProbe(), "/q/health/ready");
    }

    @Test
    void imageServiceClaimTakesSizeAndStorageClassFromValues() {
        RenderedChart custom = RenderedChart.render("imageService.persistence.size", "200Gi",
                "imageService.persistence.storageClass", "fast-ssd");
        PersistentVolumeClaim claim = custom.one(PersistentVolumeClaim.class, name("image-service"));

        assertThat(claim.getSpec().getStorageClassName()).isEqualTo("fast-ssd");
        assertThat(claim.getSpec().getResources().getRequests().get("storage").toString()).isEqualTo("200Gi");
    }

    @Test
    void servicesExposeTheSchedulerAndTheImageServicePorts() {
        ServicePort scheduler = chart.one(Service.class, name("scheduler")).getSpec().getPorts().get(0);
        ServicePort images = chart.one(Service.class, name("image-service")).getSpec().getPorts().get(0);

        assertThat(scheduler.getPort()).isEqualTo(8774);
        assertThat(scheduler.getTargetPort().getStrVal()).isEqualTo("http");
        assertThat(images.getPort()).isEqualTo(9292);
        assertThat(containerPort(chart.one(Deployment.class, name("scheduler")).getSpec().getTemplate().getSpec()))
                .isEqualTo(8774);
        assertThat(containerPort(chart.one(Deployment.class, name("image-service")).getSpec().getTemplate().getSpec()))
                .isEqualTo(9292);
        assertThat(chart.one(Service.class, name("scheduler")).getSpec().getSelector())
                .containsEntry("app.kubernetes.io/component", "scheduler");
    }

    @Test
    void bundledModeAddsPostgresqlAndKafkaAndPointsTheServicesAtThem() {
        assertThat(chart.all(StatefulSet.class)).isEmpty();

        RenderedChart bundled = RenderedChart.render("bundled.enabled", true, "certManager.enabled", true,
                "certManager.issuerRef.name", "stratus-ca", "agent.hosts[0]", "node-1");
        Container scheduler = bundled.one(Deployment.class, name("scheduler")).getSpec().getTemplate().getSpec()
                .getContainers().get(0);

        assertThat(bundled.one(StatefulSet.class, name("postgresql")).getSpec().getReplicas()).isEqualTo(1);
        assertThat(bundled.one(StatefulSet.class, name("kafka")).getSpec().getTemplate().getSpec().getContainers()
                .get(0).getImage()).isEqualTo("docker.io/apache/kafka:4.1.1");
        assertThat(env(scheduler, "STRATUS_SCHEDULER_DB_URL").getValue())
                .isEqualTo("jdbc:postgresql://" + name("postgresql") + ":5432/stratus");
        assertThat(env(scheduler, "KAFKA_BOOTSTRAP_SERVERS").getValue()).isEqualTo(name("kafka") + ":9092");
        assertThat(bundled.one(Service.class, name("postgresql")).getSpec().getPorts().get(0).getPort()).isEqualTo(5432);
        assertThat(bundled.one(Service.class, name("kafka")).getSpec().getPorts().get(0).getPort()).isEqualTo(9092);
    }

    @Test
    void generatedPasswordsAreRandomAndNotEmpty() {
        Secret admin = chart.one(Secret.class, name("admin"));
        Secret again = RenderedChart.render().one(Secret.class, name("admin"));

        assertThat(admin.getData().get("password")).hasSizeGreaterThan(30);
        assertThat(again.getData().get("password")).isNotEqualTo(admin.getData().get("password"));
        assertThat(admin.getMetadata().getAnnotations()).containsEntry("helm.sh/resource-policy", "keep");
    }

    @Test
    void generatedPasswordsStayWhatTheReleaseHasOnUpgrade() {
        String existing = java.util.Base64.getEncoder().encodeToString("kept-admin-password".getBytes());
        FakeApiServer.putSecret(RenderedChart.NAMESPACE, name("admin"), Map.of("password", existing));
        try {
            Secret admin = RenderedChart.render().one(Secret.class, name("admin"));

            assertThat(admin.getData()).containsEntry("password", existing);
        } finally {
            FakeApiServer.clear();
        }
    }

    @Test
    void serviceUserJobRunsAfterInstallAndUpgradeAgainstTheIdentityApi() {
        io.fabric8.kubernetes.api.model.batch.v1.Job job = RenderedChart.renderWithHooks()
                .one(io.fabric8.kubernetes.api.model.batch.v1.Job.class, name("service-user"));
        Container c = job.getSpec().getTemplate().getSpec().getContainers().get(0);

        assertThat(env(c, "IDENTITY_URL").getValue()).isEqualTo("http://" + name("scheduler") + ".stratus.svc:8774/identity/v3");
        assertThat(env(c, "SERVICE_USER").getValue()).isEqualTo("stratus-agent");
        assertThat(String.join(" ", c.getArgs())).contains("/roles/service");
        assertThat(chart.find(io.fabric8.kubernetes.api.model.batch.v1.Job.class, name("service-user")))
                .as("a hook, which helm template leaves out").isEmpty();
    }

    @Test
    void everyObjectCarriesTheRecommendedLabels() {
        assertThat(chart.objects).allSatisfy(o -> assertThat(o.getMetadata().getLabels())
                .containsEntry("app.kubernetes.io/name", "stratus")
                .containsEntry("app.kubernetes.io/instance", RenderedChart.RELEASE)
                .containsEntry("app.kubernetes.io/managed-by", "Helm")
                .containsKey("app.kubernetes.io/component"));
    }

    private static void assertProbe(Probe probe, String path) {
        assertThat(probe).isNotNull();
        assertThat(probe.getHttpGet().getPath()).isEqualTo(path);
        assertThat(probe.getHttpGet().getPort().getStrVal()).isEqualTo("http");
    }

    private static int containerPort(PodSpec pod) {
        return pod.getContainers().get(0).getPorts().get(0).getContainerPort();
    }

    static EnvVar env(Container c, String name) {
        return Optional.ofNullable(c.getEnv()).orElseThrow().stream().filter(e -> e.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(c.getName() + " has no " + name));
    }

    private static Volume volume(PodSpec pod, String name) {
        return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no volume " + name));
    }
}
