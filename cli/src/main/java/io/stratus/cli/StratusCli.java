package io.stratus.cli;

import io.stratus.cli.cloud.FlavorCommand;
import io.stratus.cli.cloud.ImageCommand;
import io.stratus.cli.cloud.HostCommand;
import io.stratus.cli.cloud.ServerCommand;
import io.stratus.cli.up.DownCommand;
import io.stratus.cli.up.UpCommand;
import io.stratus.kvm.boot.KernelLoadException;
import io.stratus.kvm.snapshot.SnapshotException;
import io.stratus.kvm.virtio.block.DiskImageException;
import io.stratus.kvm.vm.VmConfigException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code stratus} command. Errors a user can act on are one line on stderr with a non-zero
 * exit code; stack traces only with {@code --debug}.
 */
@Command(name = "stratus", mixinStandardHelpOptions = true, versionProvider = StratusCli.Version.class,
        description = "Stratus: a compute service whose hypervisor runs inside the JVM.",
        subcommands = {UpCommand.class, DownCommand.class, ServerCommand.class, FlavorCommand.class, ImageCommand.class,
                HostCommand.class, DemoCommand.class, VmCommand.class, KafkaCommand.class, BenchCommand.class})
public final class StratusCli {
    /** Exit code for bad input: unknown flags, invalid values, unusable files. */
    public static final int EXIT_USAGE = 2;
    /** Exit code when the VMM or the host failed. */
    public static final int EXIT_FAILURE = 1;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs the command line with its own output and error writers (the guest console still goes to fd 1). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new StratusCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler(StratusCli::badUsage);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> failure(e, commandLine,
                parseResult.matchedOptionValue("--debug", false)));
        return cli.execute(args);
    }

    private static int badUsage(CommandLine.ParameterException e, String[] args) {
        PrintWriter err = e.getCommandLine().getErr();
        err.println("stratus: error: " + e.getMessage());
        err.println("Try '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help' for usage.");
        err.flush();
        return EXIT_USAGE;
    }

    private static int failure(Exception e, CommandLine commandLine, boolean debug) {
        PrintWriter err = commandLine.getErr();
        if (debug) {
            e.printStackTrace(err);
        }
        err.println("stratus: error: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
        err.flush();
        return isBadInput(e) ? EXIT_USAGE : EXIT_FAILURE;
    }

    static boolean isBadInput(Exception e) {
        return e instanceof VmConfigException || e instanceof KernelLoadException || e instanceof DiskImageException
                || e instanceof SnapshotException || e instanceof IllegalArgumentException;
    }

    /** Project version from the jar manifest, when there is one. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = StratusCli.class.getPackage().getImplementationVersion();
            return new String[] {"stratus " + (v == null ? "development build" : v)};
        }
    }
}
