package io.stratus.cli.cloud;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code stratus host list|disable|enable|drain}: the operators' view of hosts (admin). */
@Command(name = "host", mixinStandardHelpOptions = true, description = "Hosts (admin): list, disable, enable, drain.",
        subcommands = {HostCommand.ListHosts.class, HostCommand.Disable.class, HostCommand.Enable.class,
                HostDrain.class})
public final class HostCommand {
    /** Takes {@code host} out of scheduling, with {@code reason} if there is one. */
    static void disable(CloudClient client, String host, String reason) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("host", host);
        body.put("binary", "nova-compute");
        if (reason != null) {
            body.put("disabled_reason", reason);
        }
        client.compute("PUT", "/os-services/" + (reason != null ? "disable-log-reason" : "disable"),
                CloudClient.object(body));
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Hosts with capacity, use and state.")
    static final class ListHosts implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;

        @Override
        public Integer call() throws Exception {
            Table.print(spec.commandLine().getOut(), session.client().compute("GET", "/os-hypervisors/detail", null)
                            .path("hypervisors"), session.json(), "Host=hypervisor_hostname", "State=state",
                    "Status=status", "vCPUs=vcpus", "Used=vcpus_used", "RAM (MiB)=memory_mb", "Used=memory_mb_used",
                    "Servers=running_vms", "Disabled reason=service.disabled_reason");
            return 0;
        }
    }

    @Command(name = "disable", mixinStandardHelpOptions = true, description = "Take a host out of scheduling.")
    static final class Disable implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;
        @Option(names = "--reason", description = "Why (shown to operators).")
        String reason;
        @Parameters(paramLabel = "HOST")
        String host;

        @Override
        public Integer call() throws Exception {
            disable(session.client(), host, reason);
            spec.commandLine().getOut().println("host " + host + " disabled: no new servers are placed on it");
            return 0;
        }
    }

    @Command(name = "enable", mixinStandardHelpOptions = true, description = "Put a host back into scheduling.")
    static final class Enable implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;
        @Parameters(paramLabel = "HOST")
        String host;

        @Override
        public Integer call() throws Exception {
            session.client().compute("PUT", "/os-services/enable", CloudClient.object(Map.of("host", host,
                    "binary", "nova-compute")));
            spec.commandLine().getOut().println("host " + host + " enabled");
            return 0;
        }
    }
}
