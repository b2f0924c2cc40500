package io.stratus.cli.cloud;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code stratus server ...}: a thin client of the Compute API's servers. */
@Command(name = "server", mixinStandardHelpOptions = true, description = "Servers: list, show, create, delete, stop,"
        + " start, reboot, console.", subcommands = {ServerCommand.ListServers.class, ServerCommand.Show.class,
        ServerCommand.Create.class, ServerCommand.Action.class, ServerCommand.Console.class})
public final class ServerCommand {
    private static final String[] COLUMNS = {"ID=id", "Name=name", "Status=status", "Task=OS-EXT-STS:task_state",
            "Host=OS-EXT-SRV-ATTR:host", "Flavor=flavor.id", "Image=image.id"};

    /** Finds a server by id or name among the caller's. */
    static String resolve(CloudClient c, String ref) {
        JsonNode servers = c.compute("GET", "/servers", null).path("servers");
        for (JsonNode s : servers) {
            if (s.path("id").asText().equals(ref)) {
                return ref;
            }
        }
        String found = null;
        for (JsonNode s : servers) {
            if (s.path("name").asText().equals(ref)) {
                if (found != null) {
                    throw new IllegalArgumentException("more than one server is named " + ref + "; use its id");
                }
                found = s.path("id").asText();
            }
        }
        if (found == null) {
            throw new IllegalArgumentException("no server " + ref);
        }
        return found;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List servers.")
    static final class ListServers implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;
        @Option(names = "--all-projects", description = "All projects' servers (admin).")
        boolean all;

        @Override
        public Integer call() throws Exception {
            JsonNode servers = session.client().compute("GET", "/servers/detail" + (all ? "?all_tenants=1" : ""), null)
                    .path("servers");
            Table.print(spec.commandLine().getOut(), servers, session.json(), COLUMNS);
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one server.")
    static final class Show implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;
        @Parameters(paramLabel = "SERVER", description = "id or name")
        String server;

        @Override
        public Integer call() throws Exception {
            CloudClient c = session.client();
            JsonNode s = c.compute("GET", "/servers/" + resolve(c, server), null).path("server");
            Table.printFields(spec.commandLine().getOut(), s, session.json());
            return 0;
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a server (and wait for it).")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;
        @Option(names = "--flavor", required = true, description = "flavor id or name")
        String flavor;
        @Option(names = "--image", required = true, description = "image id or name")
        String image;
        @Option(names = "--no-wait", description = "Return once the request is taken.")
        boolean noWait;
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            CloudClient c = session.client();
            String flavorId = null;
            for (JsonNode f : c.compute("GET", "/flavors", null).path("flavors")) {
                if (f.path("id").asText().equals(flavor) || f.path("name").asText().equals(flavor)) {
                    flavorId = f.path("id").asText();
                }
            }
            if (flavorId == null) {
                throw new IllegalArgumentException("no flavor " + flavor);
            }
            String imageId = c.imageNamed(image).map(i -> i.path("id").asText()).orElse(image);
            String id = c.compute("POST", "/servers", CloudClient.object(Map.of("server", Map.of("name", name,
                    "flavorRef", flavorId, "imageRef", imageId)))).path("server").path("id").asText();
            JsonNode s = c.compute("GET", "/servers/" + id, null).path("server");
            while (!noWait && s.path("status").asText().equals("BUILD")) {
                Thread.sleep(500);
                s = c.compute("GET", "/servers/" + id, null).path("server");
            }
            Table.print(spec.commandLine().getOut(), List.of(s), session.json(), COLUMNS);
            return s.path("status").asText().equals("ERROR") ? 1 : 0;
        }
    }

    @Command(name = "action", mixinStandardHelpOptions = true,
            description = "stop, start, reboot, hard-reboot, pause, unpause or delete a server.")
    static final class Action implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;
        @Parameters(index = "0", paramLabel = "ACTION")
        String action;
        @Parameters(index = "1", paramLabel = "SERVER", description = "id or name")
        String server;

        @Override
        public Integer call() throws Exception {
            CloudClient c = session.client();
            String id = resolve(c, server);
            switch (action) {
                case "delete":
                    c.compute("DELETE", "/servers/" + id, null);
                    break;
                case "stop":
                    c.compute("POST", "/servers/" + id + "/action", CloudClient.object(Map.of("os-stop", Map.of())));
                    break;
                case "start":
                    c.compute("POST", "/servers/" + id + "/action", CloudClient.object(Map.of("os-start", Map.of())));
                    break;
                case "reboot":
                case "hard-reboot":
                    c.compute("POST", "/servers/" + id + "/action", CloudClient.object(Map.of("reboot",
                            Map.of("type", action.equals("reboot") ? "SOFT" : "HARD"))));
                    break;
                case "pause":
                case "unpause":
                    c.compute("POST", "/servers/" + id + "/action", CloudClient.object(Map.of(action, Map.of())));
                    break;
                default:
                    throw new IllegalArgumentException("unknown action " + action
                            + "; use stop, start, reboot, hard-reboot, pause, unpause or delete");
            }
            spec.commandLine().getOut().println(action + " requested for server " + id);
            return 0;
        }
    }

    @Command(name = "console", mixinStandardHelpOptions = true, description = "Print a server's console output.")
    static final class Console implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;
        @Option(names = "--lines", description = "Only the last N lines.")
        Integer lines;
        @Parameters(paramLabel = "SERVER", description = "id or name")
        String server;

        @Override
        public Integer call() throws Exception {
            CloudClient c = session.client();
            JsonNode out = c.compute("POST", "/servers/" + resolve(c, server) + "/action",
                    CloudClient.object(Map.of("os-getConsoleOutput", lines == null ? Map.of() : Map.of("length", lines))));
            spec.commandLine().getOut().print(out.path("output").asText());
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
