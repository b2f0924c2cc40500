package io.stratus.cli.up;

import io.stratus.local.HostNetwork;
import java.nio.file.Files;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code stratus down}: stops the cloud {@code stratus up --detach} runs, the way Ctrl-C does, and
 * removes its agents' network namespaces if it left any.
 */
@Command(name = "down", mixinStandardHelpOptions = true, description = "Stop the all-in-one cloud.")
public final class DownCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--home-dir", paramLabel = "DIR", description = "State directory (default: $STRATUS_HOME or ~/.stratus).")
    java.nio.file.Path homeDir;

    @Override
    public Integer call() throws Exception {
        CloudHome home = homeDir != null ? new CloudHome(homeDir) : CloudHome.fromEnvironment();
        Optional<ProcessHandle> up = home.running();
        if (up.isEmpty()) {
            removeNamespaces(home);
            spec.commandLine().getOut().println("no cloud runs from " + home.dir());
            return 0;
        }
        // SIGTERM: the cloud saves its guests and stops its parts in order.
        up.get().destroy();
        try {
            up.get().onExit().get(120, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            up.get().descendants().forEach(ProcessHandle::destroyForcibly);
            up.get().destroyForcibly();
            removeNamespaces(home);
            spec.commandLine().getErr().println("the cloud did not stop within 120 s and was killed");
            return 1;
        }
        removeNamespaces(home);
        spec.commandLine().getOut().println("stopped the cloud of " + home.dir());
        return 0;
    }

    /**
     * The agents' network namespaces, and those of their DHCP servers: the cloud removes them as it
     * stops; these are what a cloud that was killed, or died, left behind.
     */
    private void removeNamespaces(CloudHome home) throws java.io.IOException {
        if (!Files.exists(home.namespacesFile())) {
            return;
        }
        for (String line : Files.readAllLines(home.namespacesFile())) {
            String[] parts = line.strip().split(" ");
            if (!parts[0].isEmpty()) {
                new HostNetwork.Namespace(parts[0], "").close();
            }
            if (parts.length > 1) {
                HostNetwork.removeAgentNamespaces(parts[1]);
            }
        }
        Files.delete(home.namespacesFile());
    }
}
