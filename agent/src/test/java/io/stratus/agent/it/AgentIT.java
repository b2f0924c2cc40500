package io.stratus.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Timestamp;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.stratus.local.pki.IssuedIdentity;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.kafka.LocalBus;
import io.stratus.kafka.client.Principals;
import io.stratus.kafka.client.Topics;
import io.stratus.proto.v1.AgentServiceGrpc;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.ConfirmResize;
import io.stratus.proto.v1.ConsoleChunk;
import io.stratus.proto.v1.ConsoleOutputRequest;
import io.stratus.proto.v1.Delete;
import io.stratus.proto.v1.DescribeRequest;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceSample;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceInfo;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.ListInstancesRequest;
import io.stratus.proto.v1.Pause;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.Reboot;
import io.stratus.proto.v1.Resize;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.RevertResize;
import io.stratus.proto.v1.Start;
import io.stratus.proto.v1.Stop;
import io.stratus.proto.v1.StreamConsoleRequest;
import io.stratus.proto.v1.TaskState;
import io.stratus.proto.v1.Unpause;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent as a separate process against the real embedded broker, booting real guests (the
 * tiny {@code instance} guest: it reports its vCPUs and memory and then ticks while it spins).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AgentIT {
    private static final String HOST = "it-host";
    private static final Duration EVENT_WAIT = Duration.ofSeconds(60);
    private static final Pattern READY = Pattern.compile("STRATUS-GUEST-READY cpus=(\\d+) memkb=(\\d+)");
    private static final Resources SMALL = Resources.newBuilder().setVcpus(1).setMemoryMib(32).build();
    private static final Resources LARGER = Resources.newBuilder().setVcpus(2).setMemoryMib(64).build();

    @TempDir
    static Path dir;

    private LocalBus broker;
    private AgentProcess agent;
    private CommandBus bus;

    @BeforeAll
    void start() throws Exception {
        Path images = dir.resolve("images");
        Files.createDirectories(images);
        Files.copy(Path.of(System.getProperty("stratus.testGuests"), "instance.elf"), images.resolve("instance"));
        // A large disk image: copying it for a new instance keeps a boot busy long enough to kill the agent.
        try (RandomAccessFile f = new RandomAccessFile(images.resolve("big-disk").toFile(), "rw")) {
            f.setLength(768L << 20);
        }
        broker = LocalBus.start(EmbeddedKafkaBroker.Settings.ephemeral(dir.resolve("kafka")), dir.resolve("pki"),
                List.of());
        agent = new AgentProcess(HOST, dir.resolve("agent"), images, broker.agent(HOST), Map.of(
                "stratus.agent.capacity.vcpus", "16", "stratus.agent.capacity.memory-mib", "2048",
                "stratus.agent.report-interval", "1s")).start();
        bus = new CommandBus(broker.controlPlane());
    }

    @AfterAll
    void stopAll() throws Exception {
        if (bus != null) {
            bus.close();
        }
        if (agent != null) {
            agent.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void everyLifecycleCommandProducesItsEventsAndTheRightGuest() throws Exception {
        String id = "i-life";
        InstanceEvent active = send(busyBoot(id, SMALL, ""), InstanceState.ACTIVE);
        assertThat(active.getResources()).isEqualTo(SMALL);
        assertThat(active.hasLaunchedAt()).isTrue();
        assertThat(states(bus.forRequest(active.getRequestId()))).containsExactly("BUILD/SPAWNING", "ACTIVE/NONE");
        assertGuest(id, 1, 1, 32);

        InstanceEvent stopped = send(envelope(id).setStop(Stop.getDefaultInstance()), InstanceState.SHUTOFF);
        assertThat(states(bus.forRequest(stopped.getRequestId()))).containsExactly("ACTIVE/POWERING_OFF",
                "SHUTOFF/NONE");
        send(envelope(id).setStart(Start.getDefaultInstance()), InstanceState.ACTIVE);
        assertGuest(id, 2, 1, 32);

        InstanceEvent hard = send(envelope(id).setReboot(Reboot.newBuilder().setKind(Reboot.Kind.HARD)),
                InstanceState.ACTIVE);
        assertThat(states(bus.forRequest(hard.getRequestId()))).containsExactly("REBOOT/REBOOTING_HARD",
                "ACTIVE/NONE");
        assertGuest(id, 3, 1, 32);
        InstanceEvent soft = send(envelope(id).setReboot(Reboot.newBuilder().setKind(Reboot.Kind.SOFT)),
                InstanceState.ACTIVE);
        assertThat(states(bus.forRequest(soft.getRequestId()))).containsExactly("REBOOT/REBOOTING", "ACTIVE/NONE");
        assertGuest(id, 4, 1, 32);

        send(envelope(id).setPause(Pause.getDefaultInstance()), InstanceState.PAUSED);
        long pausedAt = consoleLength(id);
        Thread.sleep(3000);
        assertThat(consoleLength(id)).as("a paused guest prints nothing").isEqualTo(pausedAt);
        send(envelope(id).setUnpause(Unpause.getDefaultInstance()), InstanceState.ACTIVE);
        awaitConsole(id, Pattern.compile("TICK \\d+\\n"), pausedAt);

        InstanceEvent resized = send(envelope(id).setResize(Resize.newBuilder().setFlavor("m2").setResources(LARGER)),
                InstanceState.VERIFY_RESIZE);
        assertThat(states(bus.forRequest(resized.getRequestId()))).containsExactly("RESIZE/RESIZE_PREP",
                "RESIZE/RESIZE_FINISH", "VERIFY_RESIZE/NONE");
        assertThat(resized.getResources()).isEqualTo(LARGER);
        assertGuest(id, 5, 2, 64);
        InstanceEvent reverted = send(envelope(id).setRevertResize(RevertResize.getDefaultInstance()),
                InstanceState.ACTIVE);
        assertThat(reverted.getResources()).isEqualTo(SMALL);
        assertGuest(id, 6, 1, 32);
        send(envelope(id).setResize(Resize.newBuilder().setResources(LARGER)), InstanceState.VERIFY_RESIZE);
        InstanceEvent confirmed = send(envelope(id).setConfirmResize(ConfirmResize.getDefaultInstance()),
                InstanceState.ACTIVE);
        assertThat(confirmed.getResources()).isEqualTo(LARGER);
        assertGuest(id, 7, 2, 64);

        send(envelope(id).setDelete(Delete.getDefaultInstance()), InstanceState.DELETED);
        assertThat(instance(id)).isNull();
        assertThatThrownBy(() -> consoleLength(id)).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        // The sequence numbers order the instance's events for consumers that see them out of order.
        List<Long> sequence = bus.forInstance(id).stream().map(InstanceEvent::getSequence).toList();
        assertThat(sequence).isSorted().doesNotHaveDuplicates();
    }

    @Test
    void commandsInTheWrongStateAreRefusedWithTheReason() throws Exception {
        String id = "i-refuse";
        send(boot(id, SMALL), InstanceState.ACTIVE);
        InstanceEvent refused = sendForAnswer(envelope(id).setUnpause(Unpause.getDefaultInstance()));
        assertThat(refused.getState()).isEqualTo(InstanceState.ACTIVE);
        assertThat(refused.getFault().getCode()).isEqualTo("InstanceInvalidState");
        assertThat(refused.getFault().getMessage()).contains("cannot unpause", "ACTIVE");
        InstanceEvent tooBig = sendForAnswer(envelope(id).setResize(Resize.newBuilder().setResources(
                Resources.newBuilder().setVcpus(64).setMemoryMib(64))));
        assertThat(tooBig.getFault().getCode()).isEqualTo("InsufficientResources");
        assertThat(tooBig.getFault().getMessage()).contains("vCPUs free");
        Timestamp past = Timestamp.newBuilder().setSeconds(System.currentTimeMillis() / 1000 - 60).build();
        InstanceEvent late = sendForAnswer(envelope(id).setStop(Stop.getDefaultInstance()).setDeadline(past));
        assertThat(late.getFault().getCode()).isEqualTo("CommandExpired");
        assertThat(late.getState()).isEqualTo(InstanceState.ACTIVE);
        assertGuest(id, 1, 1, 32);
        // A delete is carried out however late it comes: the scheduler deletes a server whose host
        // is down at once, and the host hears of it when it is back.
        send(envelope(id).setDelete(Delete.getDefaultInstance()).setDeadline(past), InstanceState.DELETED);
        assertThat(dir.resolve("agent").resolve("instances").resolve(id)).as("the instance's directory")
                .doesNotExist();
    }

    @Test
    void theSameBootTwiceRunsOneGuest() throws Exception {
        String id = "i-twice";
        CommandEnvelope env = boot(id, SMALL).build();
        bus.send(HOST, env);
        bus.send(HOST, env);
        InstanceEvent first = bus.await(e -> e.getRequestId().equals(env.getRequestId())
                && e.getState() == InstanceState.ACTIVE, EVENT_WAIT);
        // The redelivered request is answered with the recorded result: the very same event.
        InstanceEvent again = bus.await(e -> e.getRequestId().equals(env.getRequestId())
                && e.getState() == InstanceState.ACTIVE && e != first, EVENT_WAIT);
        assertThat(again).isEqualTo(first);
        InstanceEvent other = sendForAnswer(boot(id, SMALL));
        assertThat(other.getFault().getCode()).isEqualTo("InstanceExists");
        Thread.sleep(1500);
        assertThat(readyLines(id)).as("one guest booted once").hasSize(1);
        assertThat(bus.forRequest(env.getRequestId())).filteredOn(e -> e.getState() == InstanceState.BUILD)
                .hasSize(1);
    }

    @Test
    void invalidRecordsGoToTheDeadLetterTopicAndTheAgentGoesOn() throws Exception {
        try (KafkaConsumer<String, byte[]> dlq = CommandBus.consumer(broker.controlPlane(),
                Topics.deadLetters(HOST))) {
            bus.sendRaw(HOST, "junk", "this is not protobuf \u0000\u00ff".getBytes(StandardCharsets.ISO_8859_1));
            bus.sendRaw(HOST, "i-empty", CommandEnvelope.newBuilder().setRequestId("r-empty")
                    .setInstanceId("i-empty").build().toByteArray());
            bus.sendRaw(HOST, "bad", CommandEnvelope.newBuilder().setRequestId("r-bad").setInstanceId("../etc")
                    .setStop(Stop.getDefaultInstance()).build().toByteArray());
            // Valid in shape, but more than the host's records hold: refused once, not retried forever.
            bus.sendRaw(HOST, "i-long", boot("i-long", SMALL).setBoot(Boot.newBuilder().setName("n".repeat(300))
                    .setResources(SMALL).setSource(BootSource.newBuilder().setKernelImageId("instance")))
                    .build().toByteArray());
            send(boot("i-after-dlq", SMALL), InstanceState.ACTIVE);

            List<String> reasons = new ArrayList<>();
            long deadline = System.nanoTime() + EVENT_WAIT.toNanos();
            while (reasons.size() < 4 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : dlq.poll(Duration.ofMillis(200))) {
                    reasons.add(r.key() + ": " + new String(r.headers().lastHeader("stratus.dlq.reason").value(),
                            StandardCharsets.UTF_8) + " from " + new String(r.headers()
                            .lastHeader("stratus.dlq.source").value(), StandardCharsets.UTF_8));
                }
            }
            assertThat(reasons).hasSize(4);
            assertThat(reasons.get(0)).startsWith("junk: not a CommandEnvelope").contains("stratus.compute." + HOST);
            assertThat(reasons.get(1)).startsWith("i-empty: the envelope carries no command");
            assertThat(reasons.get(2)).startsWith("bad: instance_id '../etc' is not an id");
            assertThat(reasons.get(3)).startsWith("i-long: the instance's name is 300 characters; at most 255");
        }
    }

    /**
     * A raw disk whose guest wrote a qcow2 header into it (one naming a backing file of the host's)
     * is opened raw again, as it was recorded, never by what its first bytes say (CVE-2008-2004):
     * the boot goes on, and the host file the header names is never opened.
     */
    @Test
    void aRawDiskWithAQcow2HeaderInItStaysRaw() throws Exception {
        String id = "i-rawdisk";
        Path instanceDir = Files.createDirectories(dir.resolve("agent").resolve("instances").resolve(id));
        String backing = dir.resolve("no-such-host-file").toString();
        java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(1 << 20);
        header.putInt(0x514649fb).putInt(3).putLong(512).putInt(backing.length()).putInt(16).putLong(1L << 30);
        header.position(512);
        header.put(backing.getBytes(StandardCharsets.US_ASCII));
        byte[] written = header.array();
        // Disks of agents before copy-on-write layers were raw copies: the file name records the format.
        Files.write(instanceDir.resolve("disk.raw"), written);

        send(envelope(id).setBoot(Boot.newBuilder().setName(id).setFlavor("m1").setResources(SMALL)
                .setSource(BootSource.newBuilder().setKernelImageId("instance").setImageId("big-disk")
                        .setKernelCmdline("stratus.idle"))), InstanceState.ACTIVE);
        assertGuest(id, 1, 1, 32);
        assertThat(Files.readAllBytes(instanceDir.resolve("disk.raw"))).as("the guest's disk, untouched")
                .isEqualTo(written);
        send(envelope(id).setDelete(Delete.getDefaultInstance()), InstanceState.DELETED);
    }

    @Test
    void aCommandForAnUnknownInstanceYieldsAnErrorEvent() {
        InstanceEvent e = sendForAnswer(envelope("i-nobody").setStop(Stop.getDefaultInstance()));
        assertThat(e.getFault().getCode()).isEqualTo("InstanceNotFound");
        assertThat(e.getFault().getMessage()).contains("i-nobody", HOST);
        InstanceEvent missingImage = sendForAnswer(CommandEnvelope.newBuilder().setRequestId(request())
                .setInstanceId("i-noimage").setTenantId("t1").setBoot(Boot.newBuilder().setName("x")
                        .setResources(SMALL).setSource(BootSource.newBuilder().setKernelImageId("no-such-kernel"))));
        assertThat(missingImage.getState()).isEqualTo(InstanceState.ERROR);
        assertThat(missingImage.getFault().getCode()).isEqualTo("ImageNotFound");
        assertThat(missingImage.getFault().getMessage()).contains("no-such-kernel");
    }

    @Test
    void metricsShowCpuSecondsGrowingForABusyGuest() throws Exception {
        String id = "i-busy";
        send(busyBoot(id, SMALL, ""), InstanceState.ACTIVE);
        Pattern cpu = Pattern.compile("stratus_instance_cpu_seconds_total\\{[^}]*instance=\"" + id
                + "\"[^}]*} ([0-9.eE+-]+)");
        double first = metric(cpu);
        Thread.sleep(3000);
        double second = metric(cpu);
        // The guest spins in user mode on its one vCPU: up to a CPU second per second, less while other
        // tests' guests share the host's cores.
        assertThat(second - first).isGreaterThan(0.5);
        String text = agent.metrics();
        assertThat(text).containsPattern("stratus_instance_memory_configured_bytes\\{[^}]*host=\"" + HOST
                + "\",instance=\"" + id + "\",tenant=\"t1\"} 3.3554432E7");
        assertThat(text).contains("stratus_host_vcpus_capacity{host=\"" + HOST + "\"} 16.0");
        send(envelope(id).setDelete(Delete.getDefaultInstance()), InstanceState.DELETED);
        assertThat(agent.metrics()).as("a deleted instance's series go").doesNotContain("instance=\"" + id + "\"");
    }

    /**
     * gRPC is mutual TLS with the cloud's CA: no call gets through in plain text, without a client
     * certificate, or with one from another CA; the server's certificate names its host, so a
     * client that means another host refuses it; a peer agent may describe the host but not list
     * its instances or read a console, which only the control plane may.
     */
    @Test
    void grpcServesOnlyTheCloudsCertificatesAndConsolesOnlyToTheControlPlane() throws Exception {
        String id = "i-guarded";
        send(boot(id, SMALL), InstanceState.ACTIVE);
        DescribeRequest describe = DescribeRequest.getDefaultInstance();
        ConsoleOutputRequest console = ConsoleOutputRequest.newBuilder().setInstanceId(id).setTailBytes(64).build();
        SslContext noClientCertificate = GrpcSslContexts.forClient()
                .trustManager(agent.pki().caCertificate().toFile()).build();
        IssuedIdentity foreign = TestPki.foreign(Principals.CONTROL_PLANE);
        SslContext foreignCa = GrpcSslContexts.forClient().keyManager(foreign.certificateChain().toFile(),
                foreign.privateKey().toFile()).trustManager(agent.pki().caCertificate().toFile()).build();
        for (ManagedChannel refused : List.of(agent.plainChannel(), agent.channelWith(noClientCertificate),
                agent.channelWith(foreignCa))) {
            try {
                assertThatThrownBy(() -> AgentServiceGrpc.newBlockingStub(refused).withDeadlineAfter(10,
                        TimeUnit.SECONDS).describe(describe)).isInstanceOfSatisfying(StatusRuntimeException.class,
                                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
            } finally {
                refused.shutdownNow();
            }
        }

        ManagedChannel wrongHost = NettyChannelBuilder.forAddress("127.0.0.1", agent.grpcPort())
                .overrideAuthority("another-host").sslContext(GrpcSslContexts.forClient()
                        .keyManager(agent.pki().controlPlane().certificateChain().toFile(),
                                agent.pki().controlPlane().privateKey().toFile())
                        .trustManager(agent.pki().caCertificate().toFile()).build()).build();
        try {
            assertThatThrownBy(() -> AgentServiceGrpc.newBlockingStub(wrongHost).withDeadlineAfter(10,
                    TimeUnit.SECONDS).describe(describe)).as("the server's certificate names " + HOST + " only")
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        } finally {
            wrongHost.shutdownNow();
        }

        ManagedChannel peer = agent.channelAs(agent.pki().issue(Principals.agent("peer-host"),
                List.of("peer-host")));
        try {
            var asPeer = AgentServiceGrpc.newBlockingStub(peer).withDeadlineAfter(10, TimeUnit.SECONDS);
            assertThat(asPeer.describe(describe).getHost()).isEqualTo(HOST);
            assertThatThrownBy(() -> asPeer.getConsoleOutput(console)).isInstanceOfSatisfying(
                    StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                            .isEqualTo(Status.Code.PERMISSION_DENIED));
            assertThatThrownBy(() -> asPeer.listInstances(ListInstancesRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                            .isEqualTo(Status.Code.PERMISSION_DENIED));
        } finally {
            peer.shutdownNow();
        }

        var asControlPlane = AgentServiceGrpc.newBlockingStub(agent.channel()).withDeadlineAfter(10, TimeUnit.SECONDS);
        assertThat(asControlPlane.getConsoleOutput(console).getOffset()).isNotNegative();
        assertThat(asControlPlane.listInstances(ListInstancesRequest.getDefaultInstance()).getInstancesList())
                .extracting(InstanceInfo::getInstanceId).contains(id);
        send(envelope(id).setDelete(Delete.getDefaultInstance()), InstanceState.DELETED);
    }

    /** Whether this host's driver keeps guests running across agent restarts (qemu's processes do). */
    private boolean guestsOutliveAgent() {
        return AgentServiceGrpc.newBlockingStub(agent.channel()).describe(DescribeRequest.getDefaultInstance())
                .getTraitsList().contains("CUSTOM_STRATUS_DRIVER_QEMU");
    }

    @Test
    void theHostReportsItselfAndSamplesItsGuests() throws Exception {
        String id = "i-sampled";
        send(boot(id, SMALL), InstanceState.ACTIVE);
        HostReport described = AgentServiceGrpc.newBlockingStub(agent.channel())
                .describe(DescribeRequest.getDefaultInstance());
        assertThat(described.getHost()).isEqualTo(HOST);
        // The driver is chosen by what the host has: the in-JVM VMM needs /dev/kvm, QEMU runs anywhere.
        if (!Files.exists(Path.of("/dev/kvm"))) {
            assertThat(described.getHypervisorType()).isEqualTo("QEMU");
            assertThat(described.getTraitsList()).contains("CUSTOM_STRATUS_DRIVER_QEMU", "CUSTOM_STRATUS_ACCEL_TCG",
                    "CUSTOM_STRATUS_COLD_MIGRATION", "CUSTOM_STRATUS_LIVE_MIGRATION");
        } else {
            assertThat(described.getHypervisorType()).isEqualTo("KVM");
        }
        assertThat(described.getHypervisorVersion()).matches("\\d+\\.\\d+(\\.\\d+)?");
        assertThat(described.getDisabledReason()).isEmpty();
        assertThat(described.getCapacity().getVcpus()).isEqualTo(16);
        assertThat(described.getAllocated().getMemoryMib()).isGreaterThanOrEqualTo(32);
        assertThat(described.getEnabled()).isTrue();
        try (Admin admin = Admin.create(broker.controlPlane().properties("test-admin"))) {
            ConfigResource hosts = new ConfigResource(ConfigResource.Type.TOPIC, Topics.hostReports(HOST));
            assertThat(admin.describeConfigs(List.of(hosts)).all().get().get(hosts).get("cleanup.policy").value())
                    .as("the latest report per host is what counts").isEqualTo("compact");
        }
        try (KafkaConsumer<String, byte[]> reports = CommandBus.consumer(broker.controlPlane(), Topics.hostReports(HOST));
             KafkaConsumer<String, byte[]> samples = CommandBus.consumer(broker.controlPlane(),
                     Topics.telemetry(HOST))) {
            HostReport report = HostReport.parseFrom(first(reports, HOST).value());
            assertThat(report.getMemoryTotalBytes()).isPositive();
            InstanceSample sample = InstanceSample.parseFrom(first(samples, id).value());
            assertThat(sample.getTenantId()).isEqualTo("t1");
            assertThat(sample.getMemoryBytes()).isEqualTo(32L << 20);
        }
        send(envelope(id).setDelete(Delete.getDefaultInstance()), InstanceState.DELETED);
    }

    private static ConsumerRecord<String, byte[]> first(KafkaConsumer<String, byte[]> consumer, String key) {
        long deadline = System.nanoTime() + EVENT_WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (key.equals(r.key())) {
                    return r;
                }
            }
        }
        throw new AssertionError("no record with key " + key + " within " + EVENT_WAIT);
    }

    @Test
    void aGracefulRestartContinuesTheGuestsUptime() throws Exception {
        String id = "i-upgrade";
        send(busyBoot(id, SMALL, ""), InstanceState.ACTIVE);
        awaitConsole(id, Pattern.compile("TICK 2\\n"), 0);
        boolean outlives = guestsOutliveAgent();
        assertThat(agent.stop()).as("exit code after SIGTERM").isIn(0, 143);
        if (!outlives) {
            bus.await(e -> e.getInstanceId().equals(id) && e.getTaskState() == TaskState.SNAPSHOTTING, EVENT_WAIT);
        }
        agent.start();
        InstanceEvent restored = bus.await(e -> e.getInstanceId().equals(id) && e.getState() == InstanceState.ACTIVE
                && e.getTaskState() == TaskState.NONE && e.getRequestId().isEmpty(), EVENT_WAIT);
        assertThat(restored.getFault().getCode()).isEmpty();
        // The restored guest goes on counting where it was; a fresh boot would print READY and TICK 0.
        // A guest that ran on shows its earlier ticks too: the count goes on past them.
        Matcher tick = awaitConsole(id, Pattern.compile(outlives ? "TICK ([3-9]|\\d{2,})\\n" : "TICK (\\d+)\\n"), 0);
        assertThat(Long.parseLong(tick.group(1))).isGreaterThanOrEqualTo(2);
        // A restored guest's console starts afresh; one that ran on shows its earlier output again.
        assertThat(readyLines(id)).hasSize(outlives ? 1 : 0);
        send(envelope(id).setDelete(Delete.getDefaultInstance()), InstanceState.DELETED);
    }

    @Test
    void killingTheAgentDuringABootLosesNoRecordAndRunsNoGuestTwice() throws Exception {
        String settled = "i-settled";
        send(boot(settled, SMALL), InstanceState.ACTIVE);
        // Resized while stopped: VERIFY_RESIZE holds for stopped guests too, and this one stays stopped.
        String resizedOff = "i-resized-off";
        send(boot(resizedOff, SMALL), InstanceState.ACTIVE);
        send(envelope(resizedOff).setStop(Stop.getDefaultInstance()), InstanceState.SHUTOFF);
        InstanceEvent resized = send(envelope(resizedOff).setResize(Resize.newBuilder().setResources(LARGER)),
                InstanceState.VERIFY_RESIZE);
        assertThat(resized.getPowerState()).isEqualTo(PowerState.POWER_SHUTDOWN);
        String id = "i-killed";
        CommandEnvelope env = CommandEnvelope.newBuilder().setRequestId(request()).setInstanceId(id).setTenantId("t1")
                .setBoot(Boot.newBuilder().setName(id).setResources(SMALL).setSource(BootSource.newBuilder()
                        .setKernelImageId("instance").setImageId("big-disk").setKernelCmdline("stratus.idle"))).build();
        bus.send(HOST, env);
        bus.await(e -> e.getRequestId().equals(env.getRequestId()) && e.getState() == InstanceState.BUILD,
                EVENT_WAIT);
        agent.kill();
        agent.start();

        InstanceEvent active = bus.await(e -> e.getRequestId().equals(env.getRequestId())
                && e.getState() == InstanceState.ACTIVE, EVENT_WAIT);
        assertThat(active.getFault().getCode()).isEmpty();
        bus.await(e -> e.getInstanceId().equals(settled) && e.getState() == InstanceState.ACTIVE
                && e.getRequestId().isEmpty(), EVENT_WAIT);
        assertThat(instance(id).getState()).isEqualTo(InstanceState.ACTIVE);
        assertThat(instance(settled).getState()).isEqualTo(InstanceState.ACTIVE);
        Thread.sleep(2000);
        assertThat(readyLines(id)).as("booted once after the restart").hasSize(1);
        assertThat(readyLines(settled)).as("booted once after the restart").hasSize(1);
        assertThat(readyLines(resizedOff)).as("stopped before the kill, not booted by the restart").isEmpty();
        assertThat(instance(resizedOff).getState()).isEqualTo(InstanceState.VERIFY_RESIZE);
        assertThat(instance(resizedOff).getPowerState()).isEqualTo(PowerState.POWER_SHUTDOWN);
        long runningRecords = list().stream().filter(i -> i.getPowerState() == PowerState.POWER_RUNNING
                || i.getPowerState() == PowerState.POWER_PAUSED).count();
        assertThat(metric(Pattern.compile("stratus_host_instances\\{host=\"" + HOST + "\"} ([0-9.]+)")))
                .as("one guest per running record").isEqualTo(runningRecords);
        send(envelope(resizedOff).setDelete(Delete.getDefaultInstance()), InstanceState.DELETED);
    }

    /**
     * The one case with a real Linux (the kit's test kernel and initramfs, about a minute to boot
     * here): the console shows its marker, and the guest's own power-off comes back as SHUTOFF.
     */
    @Test
    @Tag("linux")
    void aLinuxGuestBootsToUserspaceAndItsPowerOffIsReported() throws Exception {
        Path kit = kitDir();
        Path images = dir.resolve("images");
        Files.copy(kit.resolve("test-kernel/vmlinux"), images.resolve("test-kernel"),
                StandardCopyOption.REPLACE_EXISTING);
        Files.copy(kit.resolve("initramfs.cpio"), images.resolve("initramfs"), StandardCopyOption.REPLACE_EXISTING);
        String id = "i-linux";
        send(envelope(id).setBoot(Boot.newBuilder().setName(id).setResources(Resources.newBuilder().setVcpus(2)
                .setMemoryMib(256)).setSource(BootSource.newBuilder().setKernelImageId("test-kernel")
                .setRamdiskImageId("initramfs").setKernelCmdline("panic=-1"))), InstanceState.ACTIVE);
        Matcher ready = awaitConsole(id, READY, 0, Duration.ofMinutes(4));
        assertThat(ready.group(1)).isEqualTo("2");
        // The initramfs powers off after its marker: an end the agent did not ask for.
        InstanceEvent off = bus.await(e -> e.getInstanceId().equals(id) && e.getState() == InstanceState.SHUTOFF,
                Duration.ofMinutes(2));
        assertThat(off.getRequestId()).isEmpty();
        send(envelope(id).setDelete(Delete.getDefaultInstance()), InstanceState.DELETED);
    }

    private static Path kitDir() {
        String configured = System.getProperty("stratus.kit");
        Path kit = configured != null && !configured.isBlank() && !configured.startsWith("${") ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "stratus", "kit");
        assertThat(kit.resolve("test-kernel/vmlinux")).as("the guest kit (bin/stratus kit builds it)")
                .isRegularFile();
        return kit;
    }

    // --- helpers ---

    private static String request() {
        return "req-" + UUID.randomUUID();
    }

    private static CommandEnvelope.Builder envelope(String id) {
        return CommandEnvelope.newBuilder().setRequestId(request()).setInstanceId(id).setTenantId("t1");
    }

    /** A guest that idles after its ready line: the host's two cores stay free for the agent. */
    private static CommandEnvelope.Builder boot(String id, Resources size) {
        return busyBoot(id, size, "stratus.idle");
    }

    /** A guest that spins and ticks after its ready line. */
    private static CommandEnvelope.Builder busyBoot(String id, Resources size, String cmdline) {
        return envelope(id).setBoot(Boot.newBuilder().setName(id).setFlavor("m1").setResources(size)
                .setSource(BootSource.newBuilder().setKernelImageId("instance").setKernelCmdline(cmdline)));
    }

    /** Sends the command and waits for its final event, which must be in {@code state} without a fault. */
    private InstanceEvent send(CommandEnvelope.Builder env, InstanceState state) {
        InstanceEvent e = sendForAnswer(env);
        assertThat(e.getFault().getCode()).as("fault: " + e.getFault().getMessage()).isEmpty();
        assertThat(e.getState()).isEqualTo(state);
        return e;
    }

    /** Sends the command and waits for the event that ends it (task NONE). */
    private InstanceEvent sendForAnswer(CommandEnvelope.Builder env) {
        CommandEnvelope built = env.build();
        bus.send(HOST, built);
        return bus.await(e -> e.getRequestId().equals(built.getRequestId()) && (e.getTaskState() == TaskState.NONE
                || e.hasFault()), EVENT_WAIT);
    }

    private static List<String> states(List<InstanceEvent> events) {
        return events.stream().map(e -> e.getState() + "/" + e.getTaskState()).toList();
    }

    /** The console shows {@code boots} boots; the last with this many vCPUs and about this much memory. */
    private void assertGuest(String id, int boots, int cpus, int memoryMib) throws Exception {
        awaitConsole(id, Pattern.compile("(?s)(.*STRATUS-GUEST-READY){" + boots + "}"), 0);
        List<Matcher> ready = readyLines(id);
        assertThat(ready).hasSize(boots);
        Matcher last = ready.get(ready.size() - 1);
        assertThat(Integer.parseInt(last.group(1))).isEqualTo(cpus);
        // The e820 map keeps a little below 1 MiB for the firmware area.
        assertThat(Long.parseLong(last.group(2))).isBetween(memoryMib * 1024L - 1024, memoryMib * 1024L);
    }

    private List<Matcher> readyLines(String id) throws Exception {
        Matcher m = READY.matcher(console(id));
        List<Matcher> found = new ArrayList<>();
        while (m.find()) {
            found.add(READY.matcher(m.group()));
            found.get(found.size() - 1).matches();
        }
        return found;
    }

    private long consoleLength(String id) throws Exception {
        return console(id).length();
    }

    /** Console text held by the agent: the first chunk of a gRPC StreamConsole, then the call is cancelled. */
    private String console(String id) throws Exception {
        StringBuilder text = new StringBuilder();
        try (Context.CancellableContext ctx = Context.current().withCancellation()) {
            ctx.run(() -> {
                Iterator<ConsoleChunk> chunks = AgentServiceGrpc.newBlockingStub(agent.channel())
                        .streamConsole(StreamConsoleRequest.newBuilder().setInstanceId(id).setTailBytes(1 << 20)
                                .build());
                ConsoleChunk held = chunks.next();
                text.append(held.getData().toString(StandardCharsets.ISO_8859_1));
            });
        }
        return text.toString();
    }

    /** Waits until console output after {@code from} matches {@code pattern}. */
    private Matcher awaitConsole(String id, Pattern pattern, long from) throws Exception {
        return awaitConsole(id, pattern, from, EVENT_WAIT);
    }

    private Matcher awaitConsole(String id, Pattern pattern, long from, Duration wait) throws Exception {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            String text = console(id);
            Matcher m = pattern.matcher(text.substring((int) Math.min(from, text.length())));
            if (m.find()) {
                return m;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("console of " + id + " never matched " + pattern + ":\n" + text);
            }
            Thread.sleep(250);
        }
    }

    private InstanceInfo instance(String id) {
        return list().stream().filter(i -> i.getInstanceId().equals(id)).findFirst().orElse(null);
    }

    private List<InstanceInfo> list() {
        return AgentServiceGrpc.newBlockingStub(agent.channel()).listInstances(ListInstancesRequest.getDefaultInstance())
                .getInstancesList();
    }

    private double metric(Pattern p) throws Exception {
        Matcher m = p.matcher(agent.metrics());
        assertThat(m.find()).as("metric " + p + " in:\n" + agent.metrics()).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
