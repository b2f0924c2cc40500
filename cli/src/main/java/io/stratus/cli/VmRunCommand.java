package io.stratus.cli;

import io.stratus.kvm.devices.ConsoleSink;
import io.stratus.kvm.virtio.rng.EntropyRate;
import io.stratus.kvm.vm.DiskConfig;
import io.stratus.kvm.vm.NetConfig;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import io.stratus.kvm.vm.VmExit;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code stratus vm run}: boots one guest in the foreground. The guest's serial console is
 * stdout and reads stdin; Ctrl-C stops the guest.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Boot one guest in the foreground: its serial console on stdout, stdin as its input.",
                "Exit code: 0 when the guest powers off (or halts, or resets), 3 when it triple-faults,",
                "1 when the VMM fails, 2 for bad input, 130 when stopped with Ctrl-C."})
final class VmRunCommand implements Callable<Integer> {
    static final int EXIT_GUEST_FAULT = 3;
    static final int EXIT_INTERRUPTED = 130;

    @Spec
    CommandSpec spec;

    @Option(names = "--kernel", paramLabel = "FILE",
            description = "Kernel to boot: an ELF vmlinux (PVH entry) or a bzImage.")
    Path kernel;

    @Option(names = "--restore", paramLabel = "DIR",
            description = "Continue a guest from a snapshot directory instead of booting one "
                    + "(its memory, devices and kernel come from the snapshot).")
    Path restore;

    @Option(names = "--initrd", paramLabel = "FILE", description = "Initial ramdisk.")
    Path initrd;

    @Option(names = "--memory", paramLabel = "SIZE", defaultValue = "256M", converter = MemorySize.class,
            description = "Guest memory, for example 256M or 2G (default: ${DEFAULT-VALUE}).")
    long memory;

    @Option(names = "--cpus", paramLabel = "N", defaultValue = "1", description = "vCPUs (default: ${DEFAULT-VALUE}).")
    int cpus;

    @Option(names = "--cmdline", paramLabel = "ARGS", defaultValue = "",
            description = "Kernel command line; the VMM adds what its devices need (console=ttyS0).")
    String cmdline;

    @Option(names = "--disk", paramLabel = "FILE[,ro]", converter = DiskArgument.class,
            description = "Attach a raw or qcow2 disk image as virtio-blk (vda, vdb, ... in order);"
                    + " ',ro' makes it read-only.")
    List<DiskConfig> disks = new ArrayList<>();

    @Option(names = "--net", paramLabel = "tap=NAME[,mac=..]", converter = NetArgument.class,
            description = "Attach a virtio-net device on a TAP (created if missing; eth0, eth1, ... in order).")
    List<NetConfig> nets = new ArrayList<>();

    @Option(names = "--no-ksm", description = "Do not let KSM merge this guest's memory.")
    boolean noKsm;

    @Option(names = "--no-balloon", description = "No virtio-balloon device.")
    boolean noBalloon;

    @Option(names = "--rng", description = "Attach a virtio-rng device: the guest's entropy from the host's"
            + " /dev/urandom (Linux: /dev/hwrng, CONFIG_HW_RANDOM_VIRTIO).")
    boolean rng;

    @Option(names = "--rng-rate", paramLabel = "BYTES",
            description = "Bytes per second the guest may read from its virtio-rng device (a burst of one"
                    + " second's worth after a quiet spell); default: no limit.")
    Long rngRate;

    @Option(names = "--balloon-stats", paramLabel = "SECONDS", defaultValue = "5",
            description = "How often the balloon asks the guest for memory statistics (default: ${DEFAULT-VALUE}).")
    double balloonStatsSeconds;

    @Option(names = "--control", paramLabel = "SOCKET",
            description = "Listen on this Unix socket for control commands (see `stratus vm control`): "
                    + "status, pause, resume, snapshot DIR, balloon [SIZE], stop.")
    Path control;

    @Option(names = "--debug", description = "Log what the VMM does, and print stack traces with errors.")
    boolean debug;

    @Override
    public Integer call() throws Exception {
        CliLogging.configure(debug);
        checkBootOrRestore();
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        ConsoleSink console = (bytes, offset, length) -> {
            try {
                stdout.write(bytes, offset, length);
            } catch (IOException e) {
                // stdout is gone (a closed pipe): the guest keeps running, its output is dropped.
            }
        };
        AtomicBoolean interrupted = new AtomicBoolean();
        // The shutdown hook (Ctrl-C) waits for this, so that the exit is reported before the JVM ends.
        CountDownLatch finished = new CountDownLatch(1);
        try (VirtualMachine vm = restore != null ? VirtualMachine.restore(restore, console)
                : VirtualMachine.create(config(), console);
             VmControlSocket controlSocket = control != null ? VmControlSocket.open(control, vm) : null) {
            Thread hook = new Thread(() -> {
                interrupted.set(true);
                vm.stop();
                try {
                    finished.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "stratus-vm-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            startInputPump(vm);
            if (rngRate != null) {
                vm.entropy().ifPresent(r -> r.limit(Optional.of(EntropyRate.perSecond(rngRate))));
            }
            vm.start();
            VmExit exit = vm.awaitExit();
            if (!interrupted.get()) {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
            return report(exit, interrupted.get());
        } finally {
            finished.countDown();
        }
    }

    /** Either a kernel to boot, or a snapshot to continue; a snapshot already fixes the rest. */
    private void checkBootOrRestore() {
        if ((kernel == null) == (restore == null)) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "give either --kernel FILE (boot a guest) or --restore DIR (continue a snapshot)");
        }
        if (rngRate != null && rngRate < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--rng-rate is " + rngRate
                    + ": give at least 1 byte per second, or leave it out for no limit");
        }
        if (rngRate != null && restore == null && !rng) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--rng-rate limits the --rng device: give both");
        }
        if (restore != null) {
            for (String option : List.of("--initrd", "--memory", "--cpus", "--cmdline", "--disk", "--net", "--no-ksm",
                    "--no-balloon", "--balloon-stats", "--rng")) {
                if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
                    throw new CommandLine.ParameterException(spec.commandLine(),
                            option + " cannot be used with --restore: the snapshot fixes the guest's configuration");
                }
            }
        }
    }

    private VmConfig config() {
        VmConfig.Builder builder = VmConfig.builder(kernel).name("vm").initrd(initrd).memoryBytes(memory).vcpus(cpus)
                .cmdline(cmdline).mergeableMemory(!noKsm).entropy(rng);
        disks.forEach(builder::disk);
        nets.forEach(builder::net);
        if (noBalloon) {
            builder.noBalloon();
        } else {
            builder.balloon(Duration.ofMillis(Math.round(balloonStatsSeconds * 1000)));
        }
        return builder.build();
    }

    private int report(VmExit exit, boolean interrupted) {
        PrintWriter err = spec.commandLine().getErr();
        int code;
        switch (exit.reason()) {
            case POWER_OFF, HALTED, RESET -> code = 0;
            case STOPPED -> {
                err.println("stratus: guest stopped");
                code = interrupted ? EXIT_INTERRUPTED : 0;
            }
            case TRIPLE_FAULT, CRASH -> {
                err.println("stratus: guest ended with a " + (exit.reason() == VmExit.Reason.CRASH ? "crash" : "triple fault")
                        + " (" + exit.detail() + ")");
                code = EXIT_GUEST_FAULT;
            }
            default -> {
                if (debug) {
                    exit.error().ifPresent(e -> e.printStackTrace(err));
                }
                err.println("stratus: error: " + exit.detail());
                code = StratusCli.EXIT_FAILURE;
            }
        }
        if (debug) {
            err.println("stratus: guest exit: " + exit.reason() + " (" + exit.detail() + ")");
        }
        err.flush();
        return code;
    }

    /** Feeds stdin to the guest's UART until EOF, waiting while the UART's buffer is full. */
    private static void startInputPump(VirtualMachine vm) {
        Thread pump = new Thread(() -> {
            byte[] buf = new byte[256];
            try (InputStream in = new FileInputStream(FileDescriptor.in)) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    int sent = 0;
                    while (sent < n) {
                        VirtualMachine.State state = vm.state();
                        if (state == VirtualMachine.State.EXITED || state == VirtualMachine.State.CLOSED) {
                            return;
                        }
                        // Input read before the guest starts waits in the UART's buffer.
                        int taken = vm.sendConsoleInput(buf, sent, n - sent);
                        sent += taken;
                        if (taken == 0) {
                            Thread.sleep(10);
                        }
                    }
                }
            } catch (IOException | InterruptedException | IllegalStateException e) {
                // stdin closed or the VM gone: nothing more to feed.
            }
        }, "stratus-vm-stdin");
        pump.setDaemon(true);
        pump.start();
    }
}
