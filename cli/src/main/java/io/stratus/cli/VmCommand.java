package io.stratus.cli;

import picocli.CommandLine.Command;

/** {@code stratus vm}: run guests directly on this host's kvm-runtime. */
@Command(name = "vm", mixinStandardHelpOptions = true, description = "Run a guest on this host's VMM.",
        subcommands = {VmRunCommand.class, VmControlCommand.class})
final class VmCommand {
}
