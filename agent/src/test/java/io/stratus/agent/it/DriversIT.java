package io.stratus.agent.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.kafka.LocalBus;
import io.stratus.proto.v1.AgentServiceGrpc;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Delete;
import io.stratus.proto.v1.DescribeRequest;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.Pause;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import io.stratus.proto.v1.Unpause;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drivers an agent can be given, whatever this host has: the qemu driver forced onto QEMU's
 * emulator (as on a host without /dev/kvm), whose guests outlive the agent, and a host where no
 * driver works, which says why and runs nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DriversIT {
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final Resources SMALL = Resources.newBuilder().setVcpus(1).setMemoryMib(32).build();
    private static final Pattern READY = Pattern.compile("STRATUS-GUEST-READY cpus=1");

    @TempDir
    static Path dir;

    private LocalBus broker;
    private CommandBus bus;
    private Path images;

    @BeforeAll
    void start() throws Exception {
        images = Files.createDirectories(dir.resolve("images"));
        Files.copy(Path.of(System.getProperty("stratus.testGuests"), "instance.elf"), images.resolve("instance"));
        broker = LocalBus.start(EmbeddedKafkaBroker.Settings.ephemeral(dir.resolve("kafka")), dir.resolve("pki"),
                List.of());
        bus = new CommandBus(broker.controlPlane());
    }

    @AfterAll
    void stopAll() throws Exception {
        if (bus != null) {
            bus.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    private AgentProcess agent(String host, Map<String, String> driver) {
        Map<String, String> settings = new java.util.HashMap<>(Map.of("stratus.agent.capacity.vcpus", "8",
                "stratus.agent.capacity.memory-mib", "1024", "stratus.agent.report-interval", "1s"));
        settings.putAll(driver);
        return new AgentProcess(host, dir.resolve(host), images, broker.agent(host), settings);
    }

    /**
     * The qemu driver on TCG: a guest that counts on its console runs on while the agent is killed
     * and started again; the agent finds it, shows its earlier output, and drives it as before.
     */
    @Test
    void aQemuGuestOutlivesItsAgentAndIsDrivenAgainAfterTheRestart() throws Exception {
        String host = "qemu-host";
        try (AgentProcess agent = agent(host, Map.of("stratus.agent.driver", "qemu",
                "stratus.agent.qemu.accel", "tcg", "stratus.agent.kvm-device", dir.resolve("no-kvm").toString()))
                .start()) {
            HostReport report = describe(agent);
            assertThat(report.getHypervisorType()).isEqualTo("QEMU");
            assertThat(report.getTraitsList()).contains("CUSTOM_STRATUS_DRIVER_QEMU", "CUSTOM_STRATUS_ACCEL_TCG");
            assertThat(report.getEnabled()).isTrue();

            String id = "i-outlives";
            send(host, boot(id, ""), InstanceState.ACTIVE);
            agent.awaitConsole(id, Pattern.compile("TICK 0\\n"), WAIT);
            long pid = qemuPid(host, id).orElseThrow();

            agent.kill();
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).as("QEMU after the agent's SIGKILL")
                    .contains(true);
            agent.start();
            InstanceEvent back = bus.await(e -> e.getInstanceId().equals(id) && e.getRequestId().isEmpty()
                    && e.getState() == InstanceState.ACTIVE && e.getTaskState() == TaskState.NONE, WAIT);
            assertThat(back.getFault().getCode()).isEmpty();
            assertThat(qemuPid(host, id)).as("the same process, not a new boot").contains(pid);
            // The console shows the boot from before the restart, once, and goes on counting.
            String before = agent.console(id);
            assertThat(READY.matcher(before).results().count()).isEqualTo(1);
            agent.awaitConsole(id, Pattern.compile("TICK " + (ticks(before) + 1) + "\\n"), WAIT);

            send(host, envelope(id).setPause(Pause.getDefaultInstance()), InstanceState.PAUSED);
            send(host, envelope(id).setUnpause(Unpause.getDefaultInstance()), InstanceState.ACTIVE);
            send(host, envelope(id).setDelete(Delete.getDefaultInstance()), InstanceState.DELETED);
            ProcessHandle.of(pid).ifPresent(p -> p.onExit().join());
            assertThat(dir.resolve(host).resolve("instances").resolve(id)).doesNotExist();
        }
    }

    /** Neither /dev/kvm nor QEMU: the host reports itself disabled with both reasons; a boot is refused with them. */
    @Test
    void aHostWithoutAnyDriverIsDisabledWithTheReasonAndRunsNothing() throws Exception {
        String host = "bare-host";
        Path device = dir.resolve("missing-kvm");
        try (AgentProcess agent = agent(host, Map.of("stratus.agent.kvm-device", device.toString(),
                "stratus.agent.qemu.binary", dir.resolve("missing-qemu").toString())).start()) {
            HostReport report = describe(agent);
            assertThat(report.getEnabled()).isFalse();
            assertThat(report.getHypervisorType()).isEmpty();
            assertThat(report.getDisabledReason()).contains(device.toString(), "missing-qemu");
            CommandEnvelope boot = boot("i-nowhere", "stratus.idle").build();
            bus.send(host, boot);
            InstanceEvent refused = bus.await(e -> e.getRequestId().equals(boot.getRequestId())
                    && e.getTaskState() == TaskState.NONE, WAIT);
            assertThat(refused.getState()).isEqualTo(InstanceState.ERROR);
            assertThat(refused.getFault().getCode()).isEqualTo("HypervisorUnavailable");
            assertThat(refused.getFault().getMessage()).contains(device.toString());
        }
    }

    private static long ticks(String console) {
        Matcher m = Pattern.compile("TICK (\\d+)\\n").matcher(console);
        long last = -1;
        while (m.find()) {
            last = Long.parseLong(m.group(1));
        }
        return last;
    }

    /** The pid in the instance's QEMU pid file, while that process lives. */
    private Optional<Long> qemuPid(String host, String id) throws Exception {
        Path pidFile = dir.resolve(host).resolve("instances").resolve(id).resolve("qemu.pid");
        if (!Files.exists(pidFile)) {
            return Optional.empty();
        }
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(ProcessHandle::pid);
    }

    private static HostReport describe(AgentProcess agent) {
        return AgentServiceGrpc.newBlockingStub(agent.channel()).describe(DescribeRequest.getDefaultInstance());
    }

    private static CommandEnvelope.Builder envelope(String id) {
        return CommandEnvelope.newBuilder().setRequestId("req-" + UUID.randomUUID()).setInstanceId(id)
                .setTenantId("t1");
    }

    private static CommandEnvelope.Builder boot(String id, String cmdline) {
        return envelope(id).setBoot(Boot.newBuilder().setName(id).setFlavor("m1").setResources(SMALL)
                .setSource(BootSource.newBuilder().setKernelImageId("instance").setKernelCmdline(cmdline)));
    }

    private InstanceEvent send(String host, CommandEnvelope.Builder env, InstanceState state) {
        CommandEnvelope built = env.build();
        bus.send(host, built);
        InstanceEvent e = bus.await(x -> x.getRequestId().equals(built.getRequestId())
                && (x.getTaskState() == TaskState.NONE || x.hasFault()), WAIT);
        assertThat(e.getFault().getCode()).as("fault: " + e.getFault().getMessage()).isEmpty();
        assertThat(e.getState()).isEqualTo(state);
        return e;
    }

}
