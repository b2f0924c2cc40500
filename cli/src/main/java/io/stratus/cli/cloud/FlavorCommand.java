package io.stratus.cli.cloud;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code stratus flavor list}. */
@Command(name = "flavor", mixinStandardHelpOptions = true, description = "Flavors.",
        subcommands = FlavorCommand.ListFlavors.class)
public final class FlavorCommand {
    @Command(name = "list", mixinStandardHelpOptions = true, description = "List flavors.")
    static final class ListFlavors implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;

        @Override
        public Integer call() throws Exception {
            Table.print(spec.commandLine().getOut(), session.client().compute("GET", "/flavors/detail", null)
                    .path("flavors"), session.json(), "ID=id", "Name=name", "vCPUs=vcpus", "RAM (MiB)=ram",
                    "Disk (GiB)=disk", "Public=os-flavor-access:is_public");
            return 0;
        }
    }
}
