package io.stratus.bench;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.stratus.kafka.EmbeddedKafkaBroker;
import io.stratus.kafka.LocalBus;
import io.stratus.proto.v1.AgentServiceGrpc;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.ConsoleChunk;
import io.stratus.proto.v1.DescribeRequest;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.StreamConsoleRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * N guests booted at once on one agent, through the whole path a tenant's boot takes on a host:
 * Boot commands on the host's Kafka topic, the agent (its own process, as deployed) boots them in
 * its JVM, ACTIVE events back, the guests' consoles read over gRPC. The peer is N QEMU processes
 * started at once on the same guest. Reported: time to all ACTIVE (Stratus only: QEMU has no
 * such state), time until every guest printed its ready line, and host memory (agent RSS vs the
 * sum of the QEMU processes' RSS).
 */
public final class AgentBootBenchmark {
    private static final String HOST = "bench-host";
    private static final String READY = "STRATUS-GUEST-READY";
    private static final long MIB = 1L << 20;
    /** The guest idles after its ready line: N spinning guests would measure the host's CPUs instead. */
    private static final String IDLE = "stratus.idle";

    private AgentBootBenchmark() {
    }

    public static BenchReport run(Path agentApp, Path guests, Path work, int count, int memoryMiB, int runs,
                                  Duration limit) throws Exception {
        Path image = guests.resolve("instance.elf");
        Samples samples = new Samples();
        String active = count + " guests: commands sent -> all ACTIVE";
        String ready = count + " guests: start -> all printed their ready line";
        String rss = count + " guests: VMM resident memory (RSS)";
        String perGuest = "resident memory per guest (RSS / guests)";
        List<String> notes = new ArrayList<>();
        // The agent on each driver this host can run: the in-JVM VMM where /dev/kvm works, QEMU everywhere.
        List<String> drivers = Qemu.kvm() ? List.of("kvm", "qemu") : List.of("qemu");
        for (int run = 0; run < runs; run++) {
            for (String driver : drivers) {
                String on = driver.equals("kvm") ? "" : " [agent's qemu driver]";
                StratusRun s = stratus(agentApp, image, work.resolve("run" + run + "-" + driver), count, memoryMiB,
                        limit, driver);
                samples.add(active + on, BenchReport.STRATUS, s.activeSeconds());
                samples.add(ready + on, BenchReport.STRATUS, s.readySeconds());
                if (driver.equals("kvm")) {
                    // Under the qemu driver the guests are processes of their own: the agent's RSS is not theirs.
                    samples.add(rss, BenchReport.STRATUS, s.rssBytes() / (double) MIB);
                    samples.add(perGuest, BenchReport.STRATUS, s.rssBytes() / (double) MIB / count);
                }
                if (run == 0) {
                    notes.add(String.format(java.util.Locale.ROOT, "agent (%s driver) RSS before the boots: %.1f MiB"
                            + " (JVM, Quarkus, Kafka clients, H2)", driver, s.idleRssBytes() / (double) MIB));
                }
            }
            QemuRun q = qemu(image, count, memoryMiB, limit);
            for (String driver : drivers) {
                samples.add(ready + (driver.equals("kvm") ? "" : " [agent's qemu driver]"), BenchReport.PEER,
                        q.readySeconds());
            }
            samples.add(rss, BenchReport.PEER, q.rssBytes() / (double) MIB);
            samples.add(perGuest, BenchReport.PEER, q.rssBytes() / (double) MIB / count);
        }
        if (!Qemu.kvm()) {
            notes.add("no /dev/kvm here: the in-JVM VMM's figures are missing; the agent ran its qemu driver and"
                    + " the peer QEMU on TCG");
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("guest", "guests/instance.c (tiny PVH guest: prints its ready line, then idles), "
                + memoryMiB + " MiB, 1 vCPU, " + count + " at once, " + runs + " run(s)");
        setup.put("stratus", "embedded Kafka broker in this JVM; the agent as its own process (" + agentApp
                + ", default JVM options); Boot commands on stratus.compute." + HOST + ", ACTIVE events from"
                + " stratus.events.<host>, consoles over gRPC StreamConsole");
        setup.put("qemu", "one qemu-system-x86_64 -M microvm process per guest, all started at once");
        List<Measurement> measured = new ArrayList<>();
        for (String driver : drivers) {
            String on = driver.equals("kvm") ? "" : " [agent's qemu driver]";
            measured.add(samples.measurement(active + on, "s", false));
            measured.add(samples.measurement(ready + on, "s", false));
        }
        if (drivers.contains("kvm")) {
            measured.add(samples.measurement(rss, "MiB", false));
            measured.add(samples.measurement(perGuest, "MiB", false));
        }
        return new BenchReport("agent", setup, measured, notes);
    }

    private record StratusRun(double activeSeconds, double readySeconds, long rssBytes, long idleRssBytes) {
    }

    private record QemuRun(double readySeconds, long rssBytes) {
    }

    private static StratusRun stratus(Path agentApp, Path image, Path work, int count, int memoryMiB,
                                      Duration limit, String driver) throws Exception {
        Path images = work.resolve("images");
        Files.createDirectories(images);
        Files.copy(image, images.resolve("instance"));
        try (LocalBus broker = LocalBus.start(EmbeddedKafkaBroker.Settings.ephemeral(work.resolve("kafka")),
                work.resolve("pki"), List.of())) {
            try (LocalAgent agent = LocalAgent.start(agentApp, HOST, work.resolve("agent"), images,
                    broker.agent(HOST), Map.of("stratus.agent.capacity.vcpus", String.valueOf(count),
                            "stratus.agent.capacity.memory-mib", String.valueOf((long) count * memoryMiB),
                            "stratus.agent.snapshot-on-shutdown", "false", "stratus.agent.driver", driver),
                    work.resolve("agent.log"), limit);
                 CommandChannel bus = new CommandChannel(broker.controlPlane(), HOST)) {
                ManagedChannel channel = agent.channel();
                long idleRss = ProcessGuest.rssBytes(agent.pid());
                // Connection set-up and class loading of the gRPC client are not part of a boot.
                AgentServiceGrpc.newBlockingStub(channel).describe(DescribeRequest.getDefaultInstance());
                List<String> ids = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    ids.add("bench-" + i);
                }
                long start = System.nanoTime();
                for (String id : ids) {
                    bus.send(boot(id, memoryMiB));
                }
                bus.flush();
                double activeSeconds = awaitActive(bus, new HashSet<>(ids), start, limit);
                double readySeconds = awaitConsoles(channel, ids, start, limit);
                long rss = ProcessGuest.rssBytes(agent.pid());
                return new StratusRun(activeSeconds, readySeconds, rss, idleRss);
            }
        }
    }

    private static CommandEnvelope boot(String id, int memoryMiB) {
        return CommandEnvelope.newBuilder().setRequestId(UUID.randomUUID().toString()).setInstanceId(id)
                .setTenantId("bench").setBoot(Boot.newBuilder().setName(id).setResources(Resources.newBuilder()
                        .setVcpus(1).setMemoryMib(memoryMiB)).setSource(BootSource.newBuilder()
                        .setKernelImageId("instance").setKernelCmdline(IDLE))).build();
    }

    private static double awaitActive(CommandChannel bus, Set<String> waiting, long start, Duration limit)
            throws Exception {
        long deadline = start + limit.toNanos();
        while (!waiting.isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("agent: " + waiting.size() + " guests not ACTIVE within " + limit);
            }
            for (InstanceEvent e : bus.poll(Duration.ofMillis(50))) {
                if (e.hasFault()) {
                    throw new IllegalStateException("agent: " + e.getInstanceId() + " failed: "
                            + e.getFault().getMessage());
                }
                if (e.getState() == InstanceState.ACTIVE) {
                    waiting.remove(e.getInstanceId());
                }
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** Reads every guest's console over gRPC until its ready line shows; returns when the last one did. */
    private static double awaitConsoles(ManagedChannel channel, List<String> ids, long start, Duration limit)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(ids.size(), 32));
        Map<String, Long> seenAt = new ConcurrentHashMap<>();
        try {
            List<Future<?>> all = new ArrayList<>();
            for (String id : ids) {
                all.add(pool.submit(() -> {
                    try (Context.CancellableContext ctx = Context.current().withCancellation()) {
                        ctx.run(() -> {
                            Iterator<ConsoleChunk> chunks = AgentServiceGrpc.newBlockingStub(channel)
                                    .withDeadlineAfter(limit.toMillis(), TimeUnit.MILLISECONDS)
                                    .streamConsole(StreamConsoleRequest.newBuilder().setInstanceId(id).build());
                            StringBuilder text = new StringBuilder();
                            while (chunks.hasNext()) {
                                text.append(chunks.next().getData().toString(StandardCharsets.ISO_8859_1));
                                if (text.indexOf(READY) >= 0) {
                                    seenAt.put(id, System.nanoTime());
                                    return;
                                }
                            }
                        });
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        if (seenAt.size() != ids.size()) {
            throw new IllegalStateException("agent: only " + seenAt.size() + " of " + ids.size()
                    + " consoles showed " + READY);
        }
        return (seenAt.values().stream().mapToLong(Long::longValue).max().orElseThrow() - start) / 1e9;
    }

    private static QemuRun qemu(Path image, int count, int memoryMiB, Duration limit) throws Exception {
        List<ProcessGuest> running = new ArrayList<>();
        try {
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                running.add(ProcessGuest.start(BenchReport.PEER, Qemu.command(new GuestSpec(image, null, IDLE,
                        memoryMiB, 1, List.of()))));
            }
            for (ProcessGuest g : running) {
                g.await(READY, limit);
            }
            double ready = (System.nanoTime() - start) / 1e9;
            long rss = 0;
            for (ProcessGuest g : running) {
                rss += g.rssBytes();
            }
            return new QemuRun(ready, rss);
        } finally {
            for (ProcessGuest g : running) {
                g.close();
            }
        }
    }
}
