package io.stratus.cli;

import io.stratus.bench.AgentBootBenchmark;
import io.stratus.bench.AgentMigrationBenchmark;
import io.stratus.bench.BalloonBenchmark;
import io.stratus.bench.BenchCloud;
import io.stratus.bench.BenchReport;
import io.stratus.bench.BlockBenchmark;
import io.stratus.bench.BootBenchmark;
import io.stratus.bench.ExitRateBenchmark;
import io.stratus.bench.GuestSpec;
import io.stratus.bench.ImageBenchmark;
import io.stratus.bench.KsmBenchmark;
import io.stratus.bench.LoadBenchmark;
import io.stratus.bench.MemoryBenchmark;
import io.stratus.bench.MigrationBenchmark;
import io.stratus.bench.NetBenchmark;
import io.stratus.bench.ProcessVmm;
import io.stratus.bench.Qemu;
import io.stratus.bench.SnapshotBenchmark;
import io.stratus.bench.StratusVmm;
import io.stratus.bench.TenantNetBenchmark;
import io.stratus.bench.Vmm;
import io.stratus.bench.VolumeBenchmark;
import io.stratus.kvm.cpu.HostProfile;
import io.stratus.kvm.sys.Kvm;
import io.stratus.local.HostNetwork;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code stratus bench}: Stratus against QEMU (microvm) on the same guests in the same run,
 * printed as a table or, with {@code --json}, as one JSON object.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks against a peer in the same run: QEMU microvm on the same guests, a file copy for images.",
        subcommands = {BenchCommand.Boot.class, BenchCommand.Exits.class, BenchCommand.Blk.class,
                BenchCommand.Memory.class, BenchCommand.Snapshot.class, BenchCommand.Ksm.class,
                BenchCommand.Net.class, BenchCommand.Balloon.class, BenchCommand.Agent.class, BenchCommand.Images.class,
                BenchCommand.Load.class, BenchCommand.Migrate.class, BenchCommand.TenantNet.class,
                BenchCommand.Volume.class})
final class BenchCommand {
    private static final Duration GUEST_LIMIT = Duration.ofMinutes(10);

    @Option(names = "--kit", paramLabel = "DIR", description = "Guest kit directory (bin/stratus kit).")
    Path kit = defaultKit();

    @Option(names = "--guests", paramLabel = "DIR", description = "Built test guests (make -C guests all blkbench).")
    Path guests = Path.of(System.getProperty("user.home"), ".cache", "stratus", "guests");

    @Option(names = "--json", scope = ScopeType.INHERIT, description = "Print one JSON object instead of a table.")
    boolean json;

    @Option(names = "--debug", description = "Log what the VMM does.")
    boolean debug;

    @Spec
    CommandSpec spec;

    private static Path defaultKit() {
        String env = System.getenv("STRATUS_KIT_DIR");
        return env != null && !env.isBlank() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".cache", "stratus", "kit");
    }

    int print(BenchReport report) {
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? report.json() : report.table());
        out.flush();
        return 0;
    }

    Path workDir() throws java.io.IOException {
        return Files.createTempDirectory("stratus-bench-");
    }

    void require(Path file, String how) {
        CliLogging.configure(debug);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + " is missing: " + how);
        }
    }

    /** The java launcher with this process's class path, for running Stratus in a fresh JVM. */
    static List<String> java(String... options) {
        List<String> c = new ArrayList<>();
        c.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        c.addAll(List.of(options));
        c.add("-cp");
        c.add(System.getProperty("java.class.path"));
        return c;
    }

    /** {@code stratus vm run} in its own JVM: Stratus as a user starts it, JVM start-up included. */
    static ProcessVmm stratusCli() {
        return new ProcessVmm("stratus-cli", guest -> {
            List<String> c = java("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto");
            c.addAll(List.of(StratusCli.class.getName(), "vm", "run", "--kernel", guest.kernel().toString(),
                    "--memory", guest.memoryMiB() + "M", "--cpus", Integer.toString(guest.vcpus()),
                    "--cmdline", guest.cmdline()));
            if (guest.initrd() != null) {
                c.addAll(List.of("--initrd", guest.initrd().toString()));
            }
            for (GuestSpec.Disk d : guest.disks()) {
                c.addAll(List.of("--disk", d.path() + (d.readOnly() ? ",ro" : "")));
            }
            return c;
        });
    }

    @Command(name = "boot", mixinStandardHelpOptions = true,
            description = "Start to guest userspace and start to exit, kit test kernel with initramfs and a disk.")
    static final class Boot implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--runs", defaultValue = "3", description = "Boots per VMM (default: ${DEFAULT-VALUE}).")
        int runs;

        @Option(names = "--cpus", defaultValue = "1", description = "vCPUs (default: ${DEFAULT-VALUE}).")
        int cpus;

        @Option(names = "--memory-mib", defaultValue = "256", description = "Guest memory (default: ${DEFAULT-VALUE}).")
        int memory;

        @Override
        public Integer call() throws Exception {
            Qemu.require();
            parent.require(parent.kit.resolve("test-kernel/vmlinux"), "run bin/stratus kit");
            List<Vmm> vmms = List.of(new StratusVmm(), stratusCli(), Qemu.vmm());
            return parent.print(BootBenchmark.run(parent.kit, parent.workDir(), vmms, runs, cpus, memory, GUEST_LIMIT));
        }
    }

    @Command(name = "exits", mixinStandardHelpOptions = true,
            description = "Exits per second for port and MMIO writes from the exitloop test guest.")
    static final class Exits implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--runs", defaultValue = "5", description = "Runs per VMM (default: ${DEFAULT-VALUE}).")
        int runs;

        @Option(names = "--iterations", defaultValue = "100000", description = "Writes per loop (default: ${DEFAULT-VALUE}).")
        long iterations;

        @Override
        public Integer call() throws Exception {
            Qemu.require();
            parent.require(parent.guests.resolve("exitloop.elf"), "run make -C guests OUT=" + parent.guests);
            return parent.print(ExitRateBenchmark.run(parent.guests, List.of(new StratusVmm(), Qemu.vmm()), runs,
                    iterations, GUEST_LIMIT));
        }
    }

    @Command(name = "blk", mixinStandardHelpOptions = true,
            description = "virtio-blk throughput measured inside the guest (sequential and random, read and write).")
    static final class Blk implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--runs", defaultValue = "1", description = "Runs per VMM (default: ${DEFAULT-VALUE}).")
        int runs;

        @Override
        public Integer call() throws Exception {
            Qemu.require();
            parent.require(parent.kit.resolve("test-kernel/vmlinux"), "run bin/stratus kit");
            parent.require(parent.guests.resolve("blkbench"), "run make -C guests OUT=" + parent.guests + " blkbench");
            return parent.print(BlockBenchmark.run(parent.kit, parent.guests, parent.workDir(),
                    List.of(new StratusVmm(), Qemu.vmm()), runs, GUEST_LIMIT));
        }
    }

    @Command(name = "volume", mixinStandardHelpOptions = true,
            description = "A volume's I/O inside the guest (the blk patterns) over NBD (qemu-nbd) against the same file"
                    + " as a local disk, on QEMU's NBD client and on the kvm engine's.")
    static final class Volume implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--runs", defaultValue = "1", description = "Runs per VMM and path (default: ${DEFAULT-VALUE}).")
        int runs;

        @Override
        public Integer call() throws Exception {
            Qemu.require();
            parent.require(parent.kit.resolve("test-kernel/vmlinux"), "run bin/stratus kit");
            parent.require(parent.guests.resolve("blkbench"), "run make -C guests OUT=" + parent.guests + " blkbench");
            List<Vmm> vmms = new ArrayList<>();
            List<String> skipped = new ArrayList<>();
            // The kvm engine needs /dev/kvm; QEMU runs on its emulator without it.
            java.util.Optional<String> noKvm = Kvm.unavailableReason(Path.of("/dev/kvm"));
            if (noKvm.isPresent()) {
                String why = "the kvm engine (stratus-local, stratus-nbd) was not measured: " + noKvm.get();
                System.err.println("stratus: " + why);
                skipped.add(why);
            } else {
                vmms.add(new StratusVmm());
            }
            vmms.add(Qemu.vmm());
            return parent.print(VolumeBenchmark.run(parent.kit, parent.guests, parent.workDir(), vmms, runs,
                    GUEST_LIMIT, skipped));
        }
    }

    @Command(name = "memory", mixinStandardHelpOptions = true,
            description = "VMM memory overhead (RSS minus guest memory) for one guest and per extra guest.")
    static final class Memory implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--count", defaultValue = "8", description = "Guests in the larger set (default: ${DEFAULT-VALUE}).")
        int count;

        @Override
        public Integer call() throws Exception {
            Qemu.require();
            parent.require(parent.guests.resolve("idle.elf"), "run make -C guests OUT=" + parent.guests);
            if (count < 2) {
                throw new IllegalArgumentException("--count must be at least 2");
            }
            // A JVM sized for a host agent running guests, not for throughput: small heap, serial GC,
            // client compiler, small thread stacks.
            List<String> javaCommand = java("-XX:+UseSerialGC", "-Xms8m", "-Xmx48m", "-XX:TieredStopAtLevel=1",
                    "-XX:CICompilerCount=1", "-XX:ReservedCodeCacheSize=16m", "-Xss256k", "-XX:MaxMetaspaceSize=48m");
            return parent.print(MemoryBenchmark.run(parent.guests, javaCommand, count));
        }
    }

    @Command(name = "snapshot", mixinStandardHelpOptions = true,
            description = "Snapshot and restore-to-running of guests whose RAM is full, per size.")
    static final class Snapshot implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--sizes-mib", split = ",", defaultValue = "256,1024",
                description = "Guest sizes (default: ${DEFAULT-VALUE}).")
        List<Integer> sizes;

        @Option(names = "--runs", defaultValue = "3", description = "Runs per VMM and size (default: ${DEFAULT-VALUE}).")
        int runs;

        @Override
        public Integer call() throws Exception {
            Qemu.require();
            parent.require(parent.guests.resolve("pages.elf"), "run make -C guests OUT=" + parent.guests);
            return parent.print(SnapshotBenchmark.run(parent.guests, parent.workDir(), sizes, runs));
        }
    }

    @Command(name = "migrate", mixinStandardHelpOptions = true,
            description = "Live migration over loopback, source and target in separate processes: total time,"
                    + " downtime (VMM's and measured inside the guest), bytes, rounds; idle and memory-busy guests.")
    static final class Migrate implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--sizes-mib", split = ",", defaultValue = "256,1024",
                description = "Guest sizes (default: ${DEFAULT-VALUE}).")
        List<Integer> sizes;

        @Option(names = "--runs", defaultValue = "3", description = "Migrations per VMM and case (default: ${DEFAULT-VALUE}).")
        int runs;

        @Option(names = "--max-downtime-ms", defaultValue = "300",
                description = "Maximum downtime, the same on both (QEMU's default; default: ${DEFAULT-VALUE}).")
        int maxDowntimeMs;

        @Option(names = "--busy-rate-mib", defaultValue = "256",
                description = "MiB/s of pages a busy guest rewrites (default: ${DEFAULT-VALUE}).")
        int busyRate;

        @Option(names = "--cold", description = "Also migrate between fresh JVMs, without warm-up.")
        boolean cold;

        @Option(names = "--agents", description = "Instead: live migration through the Compute API between two agents"
                + " (their driver; QEMU without /dev/kvm), secured (mutual TLS, ACLs) against plaintext, the first of"
                + " --sizes-mib, --runs each way.")
        boolean agents;

        @Override
        public Integer call() throws Exception {
            if (agents) {
                parent.require(parent.guests.resolve("migrant.elf"), "run make -C guests OUT=" + parent.guests);
                return parent.print(AgentMigrationBenchmark.run(parent.services(), parent.guests, parent.workDir(),
                        sizes.get(0), runs));
            }
            Qemu.require();
            parent.require(parent.guests.resolve("migbench.elf"), "run make -C guests OUT=" + parent.guests);
            return parent.print(MigrationBenchmark.run(parent.guests, java("-XX:+UseSerialGC", "-Xshare:auto"), sizes,
                    runs, maxDowntimeMs, busyRate, cold));
        }
    }

    @Command(name = "ksm", mixinStandardHelpOptions = true,
            description = "Host memory of identical idle guests with KSM merging off and on.")
    static final class Ksm implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--count", defaultValue = "8", description = "Guests (default: ${DEFAULT-VALUE}).")
        int count;

        @Option(names = "--memory-mib", defaultValue = "128", description = "Memory per guest (default: ${DEFAULT-VALUE}).")
        int memory;

        @Override
        public Integer call() throws Exception {
            Qemu.require();
            parent.require(parent.guests.resolve("pages.elf"), "run make -C guests OUT=" + parent.guests);
            return parent.print(KsmBenchmark.run(parent.guests, count, memory));
        }
    }

    @Command(name = "net", mixinStandardHelpOptions = true,
            description = "TCP throughput over virtio-net on a TAP, guest to host and host to guest (busybox nc).")
    static final class Net implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--size-mib", description = "MiB per transfer (default: 64; 2 where KVM emulates guest kernel"
                + " code, which moves about 0.1 MiB/s through the guest's TCP stack).")
        Integer size;

        @Option(names = "--rounds", defaultValue = "3", description = "Transfers each way per VMM (default: ${DEFAULT-VALUE}).")
        int rounds;

        @Override
        public Integer call() throws Exception {
            Qemu.require();
            parent.require(parent.kit.resolve("test-kernel/vmlinux"), "run bin/stratus kit");
            int mib = size != null ? size : HostProfile.detect().emulatesGuestKernel() ? 2 : 64;
            return parent.print(NetBenchmark.run(parent.kit, parent.workDir(), stratusCli()::command, mib, rounds));
        }
    }

    @Command(name = "balloon", mixinStandardHelpOptions = true,
            description = "virtio-balloon inflate and deflate rates and the host memory returned, Linux guest.")
    static final class Balloon implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--memory-mib", defaultValue = "128", description = "Guest memory (default: ${DEFAULT-VALUE}).")
        int memory;

        @Option(names = "--fill-mib", defaultValue = "48",
                description = "Page cache the guest fills and frees first (default: ${DEFAULT-VALUE}).")
        int fill;

        @Option(names = "--inflate-mib", defaultValue = "64", description = "Balloon size (default: ${DEFAULT-VALUE}).")
        int inflate;

        @Option(names = "--runs", defaultValue = "1", description = "Boots per VMM (default: ${DEFAULT-VALUE}).")
        int runs;

        @Override
        public Integer call() throws Exception {
            Qemu.require();
            parent.require(parent.kit.resolve("test-kernel/vmlinux"), "run bin/stratus kit");
            return parent.print(BalloonBenchmark.run(parent.kit, parent.workDir(), stratusCli()::command, memory, fill,
                    inflate, runs));
        }
    }

    @Command(name = "agent", mixinStandardHelpOptions = true,
            description = "N guests booted at once on one agent (Kafka in, events and consoles out) against N QEMUs.")
    static final class Agent implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--count", defaultValue = "20", description = "Guests booted at once (default: ${DEFAULT-VALUE}).")
        int count;

        @Option(names = "--memory-mib", defaultValue = "32", description = "Guest memory (default: ${DEFAULT-VALUE}).")
        int memory;

        @Option(names = "--runs", defaultValue = "1", description = "Runs per VMM (default: ${DEFAULT-VALUE}).")
        int runs;

        @Option(names = "--agent-app", paramLabel = "JAR",
                description = "The built agent (default: agent/target/quarkus-app/quarkus-run.jar of this checkout).")
        Path agentApp = Path.of(System.getProperty("stratus.home", "."), "agent", "target", "quarkus-app",
                "quarkus-run.jar");

        @Override
        public Integer call() throws Exception {
            Qemu.require();
            parent.require(parent.guests.resolve("instance.elf"), "run make -C guests OUT=" + parent.guests);
            parent.require(agentApp, "build the agent (mvn install -DskipTests)");
            return parent.print(AgentBootBenchmark.run(agentApp, parent.guests, parent.workDir(), count, memory, runs,
                    GUEST_LIMIT));
        }
    }

    @Command(name = "images", mixinStandardHelpOptions = true,
            description = "The image service's upload/download throughput against a file copy, and a boot from a cold"
                    + " agent cache against a warm one.")
    static final class Images implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--size-mib", defaultValue = "1024",
                description = "Image size for the throughput runs (default: ${DEFAULT-VALUE}).")
        int sizeMib;

        @Option(names = "--boot-image-mib", defaultValue = "256",
                description = "Disk image size for the boot runs (default: ${DEFAULT-VALUE}).")
        int bootImageMib;

        @Option(names = "--runs", defaultValue = "3", description = "Runs (default: ${DEFAULT-VALUE}).")
        int runs;

        @Override
        public Integer call() throws Exception {
            return parent.print(ImageBenchmark.run(parent.services(), parent.guests, parent.workDir(), sizeMib,
                    bootImageMib, runs));
        }
    }

    @Command(name = "load", mixinStandardHelpOptions = true,
            description = "N boot requests at once through the Compute API to two agents: boots/s, time to ACTIVE,"
                    + " failures.")
    static final class Load implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--requests", defaultValue = "200", description = "Boot requests (default: ${DEFAULT-VALUE}).")
        int requests;

        @Option(names = "--clients", defaultValue = "16",
                description = "Client threads sending them (default: ${DEFAULT-VALUE}).")
        int clients;

        @Option(names = "--against-plaintext", description = "Run it again on a cloud without TLS nor ACLs (bus and"
                + " gRPC) and print secured/plaintext: what security costs.")
        boolean againstPlaintext;

        @Override
        public Integer call() throws Exception {
            return parent.print(LoadBenchmark.run(parent.services(), parent.guests, parent.workDir(), requests,
                    clients, againstPlaintext));
        }
    }

    @Command(name = "tenant-net", mixinStandardHelpOptions = true,
            description = "Tenant networks, two agents in network namespaces as two hosts: TCP guest to guest over"
                    + " VXLAN against the same guests on one bridge, and port create+bind against unbound ports;"
                    + " per driver (qemu; kvm where /dev/kvm exists). Needs root.")
    static final class TenantNet implements Callable<Integer> {
        @ParentCommand
        BenchCommand parent;

        @Option(names = "--size-mib", defaultValue = "32",
                description = "MiB the sender sends per round (default: ${DEFAULT-VALUE}).")
        int size;

        @Option(names = "--rounds", defaultValue = "3",
                description = "Transfers per placement, and port batches of each kind (default: ${DEFAULT-VALUE}).")
        int rounds;

        @Option(names = "--ports", defaultValue = "50", description = "Ports per batch (default: ${DEFAULT-VALUE}).")
        int ports;

        @Override
        public Integer call() throws Exception {
            BenchCloud.Apps apps = BenchCloud.Apps.in(Path.of(System.getProperty("stratus.home", ".")));
            for (Path app : apps.all()) {
                parent.require(app, "build the services (mvn install -DskipTests)");
            }
            parent.require(parent.kit.resolve("test-kernel/vmlinux"), "run bin/stratus kit");
            if (!HostNetwork.available()) {
                throw new IllegalArgumentException("tenant-net makes network namespaces as hosts: it needs root and"
                        + " iproute2 (ip netns)");
            }
            return parent.print(TenantNetBenchmark.run(apps, parent.kit, parent.workDir(), size, rounds, ports));
        }
    }

    /** The packaged services of this checkout and the tiny test guests, or a message on what to build. */
    BenchCloud.Apps services() {
        BenchCloud.Apps apps = BenchCloud.Apps.in(Path.of(System.getProperty("stratus.home", ".")));
        for (Path app : apps.all()) {
            require(app, "build the services (mvn install -DskipTests)");
        }
        require(guests.resolve("instance.elf"), "run make -C guests OUT=" + guests);
        return apps;
    }
}
