package io.stratus.bench;

import io.stratus.kvm.devices.ConsoleSink;
import io.stratus.kvm.migration.MigrationResult;
import io.stratus.kvm.migration.MigrationSettings;
import io.stratus.kvm.migration.MigrationSource;
import io.stratus.kvm.migration.MigrationTarget;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One end of a Stratus live migration in its own process, as QEMU's two ends are: the migration
 * benchmark starts a target, then a source, each a JVM running this class. The guest's console
 * and this class's own status lines go to stdout, whole lines only, so that they never interleave.
 *
 * <pre>
 * target KERNEL MEMORY_MIB CMDLINE WARMUPS
 *     builds the incoming VM, prints "STRATUS-MIG-LISTENING port", receives one guest, prints
 *     "STRATUS-MIG-RESULT ...", and runs the guest until killed
 * source KERNEL MEMORY_MIB CMDLINE PORT MAX_DOWNTIME_MS REPORTS WARMUPS
 *     boots the guest, waits for its REPORTS-th "MBGAP" line, migrates it to 127.0.0.1:PORT and
 *     prints "STRATUS-MIG-RESULT ..." and exits
 * </pre>
 *
 * With WARMUPS above 0, each end first migrates a small busy guest that many times between two
 * VMs of its own over a loopback socket, so that the JIT has compiled the migration code, as in
 * a host agent that has migrated before; 0 measures a fresh JVM.
 */
public final class MigrationPeer {
    static final String LISTENING = "STRATUS-MIG-LISTENING";
    static final String RESULT = "STRATUS-MIG-RESULT";
    private static final Duration LIMIT = Duration.ofSeconds(120);

    private MigrationPeer() {
    }

    public static void main(String[] args) throws Exception {
        Lines out = new Lines(System.out);
        try {
            if (args.length == 5 && args[0].equals("target")) {
                warmUp(config(args), Integer.parseInt(args[4]));
                target(config(args), out);
            } else if (args.length == 8 && args[0].equals("source")) {
                warmUp(config(args), Integer.parseInt(args[7]));
                source(config(args), Integer.parseInt(args[4]), Duration.ofMillis(Long.parseLong(args[5])),
                        Integer.parseInt(args[6]), out);
            } else {
                out.say(RESULT + " error=usage: target KERNEL MIB CMDLINE WARMUPS | source KERNEL MIB CMDLINE PORT"
                        + " MAX_DOWNTIME_MS REPORTS WARMUPS");
            }
        } catch (Exception e) {
            out.say(RESULT + " error=" + String.valueOf(e).replace('\n', ' '));
        }
        System.exit(0);
    }

    private static VmConfig config(String[] args) {
        return VmConfig.builder(Path.of(args[1])).name("migbench").memoryMiB(Long.parseLong(args[2])).vcpus(1)
                .cmdline(args[3]).noBalloon().build();
    }

    /** Migrates a 64 MiB guest rewriting 8 MiB of its RAM {@code count} times within this JVM. */
    private static void warmUp(VmConfig config, int count) throws Exception {
        String tsc = "";
        for (String word : config.cmdline().split(" ")) {
            if (word.startsWith("mb.tsckhz=")) {
                tsc = word;
            }
        }
        VmConfig small = VmConfig.builder(config.kernel()).name("migbench-warmup").memoryMiB(64).vcpus(1)
                .cmdline(tsc + " mb.report=100 mb.kib=8192 mb.rate=256").noBalloon().build();
        for (int i = 0; i < count; i++) {
            try (ServerSocketChannel server = ServerSocketChannel.open()) {
                server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                try (SocketChannel sourceEnd = SocketChannel.open(server.getLocalAddress());
                     SocketChannel targetEnd = server.accept();
                     VirtualMachine source = VirtualMachine.create(small, ConsoleSink.discard());
                     VirtualMachine target = VirtualMachine.createIncoming(small, ConsoleSink.discard())) {
                    source.start();
                    Thread.sleep(300);
                    CompletableFuture<MigrationResult> received =
                            CompletableFuture.supplyAsync(() -> MigrationTarget.receive(target, targetEnd));
                    MigrationSource.migrate(source, sourceEnd, MigrationSettings.defaults());
                    received.get(60, TimeUnit.SECONDS);
                }
            }
        }
    }

    private static void target(VmConfig config, Lines out) throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open();
             VirtualMachine vm = VirtualMachine.createIncoming(config, out)) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            out.say(LISTENING + " " + ((InetSocketAddress) server.getLocalAddress()).getPort());
            try (SocketChannel channel = server.accept()) {
                out.say(RESULT + " " + figures(MigrationTarget.receive(vm, channel)));
            }
            // The guest runs here now, until the benchmark stops this process.
            vm.awaitExit(Duration.ofMinutes(10));
        }
    }

    private static void source(VmConfig config, int port, Duration maxDowntime, int reports, Lines out)
            throws Exception {
        try (VirtualMachine vm = VirtualMachine.create(config, out)) {
            vm.start();
            if (!out.awaitReports(reports, LIMIT)) {
                out.say(RESULT + " error=the guest printed no " + reports + " MBGAP lines within " + LIMIT);
                return;
            }
            try (SocketChannel channel = SocketChannel.open(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
                MigrationResult r = MigrationSource.migrate(vm, channel,
                        MigrationSettings.defaults().withMaxDowntime(maxDowntime));
                out.say(RESULT + " " + figures(r));
            }
        }
    }

    /** {@code completed=… rounds=… bytes=… total_ms=… downtime_ms=… throttle=… [aborted=…]}. */
    private static String figures(MigrationResult r) {
        return String.format(Locale.ROOT, "completed=%b rounds=%d bytes=%d total_ms=%.3f downtime_ms=%.3f throttle=%d%s",
                r.completed(), r.rounds(), r.bytesOnWire(), r.totalTime().toNanos() / 1e6,
                r.downtime().toNanos() / 1e6, r.maxThrottlePercent(),
                r.abortedReason().map(a -> " aborted=" + a.replace('\n', ' ')).orElse(""));
    }

    /** The guest's console and the status lines, line by line onto one stream; counts MBGAP lines. */
    private static final class Lines implements ConsoleSink {
        private final PrintStream out;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private int reports;

        Lines(PrintStream out) {
            this.out = out;
        }

        @Override
        public synchronized void write(byte[] bytes, int offset, int length) {
            for (int i = offset; i < offset + length; i++) {
                if (bytes[i] == '\n') {
                    String text = line.toString(StandardCharsets.UTF_8);
                    line.reset();
                    say(text);
                    if (text.startsWith("MBGAP ")) {
                        reports++;
                        notifyAll();
                    }
                } else {
                    line.write(bytes[i]);
                }
            }
        }

        synchronized void say(String text) {
            out.println(text);
            out.flush();
        }

        synchronized boolean awaitReports(int count, Duration limit) throws InterruptedException {
            long deadline = System.nanoTime() + limit.toNanos();
            while (reports < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }
}
