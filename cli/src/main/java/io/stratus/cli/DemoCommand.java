package io.stratus.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Context;
import io.stratus.bench.CommandChannel;
import io.stratus.bench.LocalAgent;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.kafka.LocalBus;
import io.stratus.proto.v1.AgentServiceGrpc;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.ConsoleChunk;
import io.stratus.proto.v1.Delete;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.StreamConsoleRequest;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code stratus demo}: one real guest through the parts that exist, on embedded defaults — the
 * embedded Kafka broker, an agent process, a Boot command on its topic, the events back, the
 * guest's console over gRPC, then Delete. The kit's test kernel prints its ready line and powers
 * itself off, which the agent reports as SHUTOFF.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Boot the kit's Linux guest through Kafka and an agent, show its console, delete it.")
final class DemoCommand implements Callable<Integer> {
    private static final String HOST = "demo-host";
    private static final String INSTANCE = "demo-1";
    private static final Duration LIMIT = Duration.ofMinutes(10);

    @Spec
    CommandSpec spec;

    @Option(names = "--kit", paramLabel = "DIR", description = "Guest kit directory (bin/stratus kit).")
    Path kit = Path.of(System.getProperty("user.home"), ".cache", "stratus", "kit");

    @Option(names = "--agent-app", paramLabel = "JAR", description = "The built agent.")
    Path agentApp = Path.of(System.getProperty("stratus.home", "."), "agent", "target", "quarkus-app",
            "quarkus-run.jar");

    @Option(names = "--cpus", defaultValue = "2", description = "vCPUs (default: ${DEFAULT-VALUE}).")
    int cpus;

    @Option(names = "--memory-mib", defaultValue = "256", description = "Guest memory (default: ${DEFAULT-VALUE}).")
    int memory;

    @Option(names = "--debug", description = "Log what the VMM does.")
    boolean debug;

    @Override
    public Integer call() throws Exception {
        CliLogging.configure(debug);
        PrintWriter out = spec.commandLine().getOut();
        for (Path p : List.of(kit.resolve("test-kernel/vmlinux"), kit.resolve("initramfs.cpio"), agentApp)) {
            if (!Files.isRegularFile(p)) {
                throw new IllegalArgumentException(p + " is missing: run bin/stratus demo (it builds the kit and"
                        + " the agent)");
            }
        }
        Path work = Files.createTempDirectory("stratus-demo-");
        int result = StratusCli.EXIT_FAILURE;
        try {
            result = run(work, out);
            return result;
        } finally {
            if (result == 0) {
                try (var walk = Files.walk(work)) {
                    for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            } else {
                say(out, "kept " + work + " (agent log, broker data) for a look");
            }
        }
    }

    private int run(Path work, PrintWriter out) throws Exception {
        Path images = Files.createDirectories(work.resolve("images"));
        Files.createSymbolicLink(images.resolve("test-kernel"), kit.resolve("test-kernel/vmlinux").toAbsolutePath());
        Files.createSymbolicLink(images.resolve("initramfs"), kit.resolve("initramfs.cpio").toAbsolutePath());
        try (LocalBus broker = LocalBus.start(EmbeddedKafkaBroker.Settings.ephemeral(work.resolve("kafka")),
                work.resolve("pki"), List.of())) {
            say(out, "Kafka broker at " + broker.bootstrapServers() + " (embedded, KRaft, mutual TLS)");
            try (LocalAgent agent = LocalAgent.start(agentApp, HOST, work.resolve("agent"), images,
                    broker.agent(HOST), Map.of("stratus.agent.capacity.vcpus", "4",
                            "stratus.agent.capacity.memory-mib", "1024"), work.resolve("agent.log"), LIMIT);
                 CommandChannel bus = new CommandChannel(broker.controlPlane(), HOST)) {
                say(out, "agent for host " + HOST + " ready (pid " + agent.pid() + ", log " + agent.log() + ")");
                CommandEnvelope boot = CommandEnvelope.newBuilder().setRequestId(UUID.randomUUID().toString())
                        .setInstanceId(INSTANCE).setTenantId("demo").setBoot(Boot.newBuilder().setName(INSTANCE)
                                .setResources(Resources.newBuilder().setVcpus(cpus).setMemoryMib(memory))
                                .setSource(BootSource.newBuilder().setKernelImageId("test-kernel")
                                        .setRamdiskImageId("initramfs").setKernelCmdline("panic=-1"))).build();
                bus.sendNow(boot);
                say(out, "sent Boot " + INSTANCE + " (" + cpus + " vCPUs, " + memory + " MiB) to stratus.compute."
                        + HOST);
                InstanceEvent active = await(bus, out, e -> e.getState() == InstanceState.ACTIVE || e.hasFault());
                if (active.hasFault()) {
                    say(out, "boot failed: " + active.getFault().getMessage());
                    return StratusCli.EXIT_FAILURE;
                }
                Thread console = new Thread(() -> copyConsole(agent, out), "demo-console");
                console.setDaemon(true);
                console.start();
                // The initramfs prints its marker and powers off: the agent reports that end as SHUTOFF.
                await(bus, out, e -> e.getState() == InstanceState.SHUTOFF || e.getState() == InstanceState.ERROR);
                bus.sendNow(CommandEnvelope.newBuilder().setRequestId(UUID.randomUUID().toString())
                        .setInstanceId(INSTANCE).setDelete(Delete.getDefaultInstance()).build());
                await(bus, out, e -> e.getState() == InstanceState.DELETED);
                console.join(5000);
                return consoleText.contains("STRATUS-GUEST-READY") ? 0 : StratusCli.EXIT_FAILURE;
            }
        }
    }

    private volatile String consoleText = "";

    private void copyConsole(LocalAgent agent, PrintWriter out) {
        StringBuilder seen = new StringBuilder();
        try (Context.CancellableContext ctx = Context.current().withCancellation()) {
            ctx.run(() -> {
                Iterator<ConsoleChunk> chunks = AgentServiceGrpc.newBlockingStub(agent.channel())
                        .streamConsole(StreamConsoleRequest.newBuilder().setInstanceId(INSTANCE).build());
                while (chunks.hasNext()) {
                    String text = chunks.next().getData().toStringUtf8();
                    seen.append(text);
                    consoleText = seen.toString();
                    out.print(text);
                    out.flush();
                }
            });
        } catch (RuntimeException e) {
            // The stream ends with the instance.
        }
    }

    private static InstanceEvent await(CommandChannel bus, PrintWriter out, Predicate<InstanceEvent> done)
            throws InvalidProtocolBufferException {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            for (InstanceEvent e : bus.poll(Duration.ofMillis(200))) {
                say(out, "event: " + e.getInstanceId() + " " + e.getState() + "/" + e.getTaskState()
                        + (e.hasFault() ? " fault " + e.getFault().getCode() + ": " + e.getFault().getMessage() : ""));
                if (done.test(e)) {
                    return e;
                }
            }
        }
        throw new IllegalStateException("no event within " + LIMIT);
    }

    private static void say(PrintWriter out, String line) {
        out.println("stratus demo: " + line);
        out.flush();
    }
}
