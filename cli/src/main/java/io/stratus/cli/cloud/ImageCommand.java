package io.stratus.cli.cloud;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code stratus image create|list|show|delete}: the image service, through the catalog's image endpoint. */
@Command(name = "image", mixinStandardHelpOptions = true, description = "Images: create (upload), list, show, delete.",
        subcommands = {ImageCommand.ListImages.class, ImageCommand.Show.class, ImageCommand.Create.class,
                ImageCommand.Delete.class})
public final class ImageCommand {
    private static final String[] COLUMNS = {"ID=id", "Name=name", "Status=status", "Visibility=visibility",
            "Format=disk_format", "Size=size"};

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the images the project sees.")
    static final class ListImages implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;

        @Override
        public Integer call() throws Exception {
            Table.print(spec.commandLine().getOut(), session.client().image("GET", "/v2/images", null).path("images"),
                    session.json(), COLUMNS);
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one image.")
    static final class Show implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;
        @Parameters(paramLabel = "IMAGE", description = "id or name")
        String image;

        @Override
        public Integer call() throws Exception {
            CloudClient c = session.client();
            Table.printFields(spec.commandLine().getOut(), c.image("GET", "/v2/images/" + resolve(c, image), null),
                    session.json());
            return 0;
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create an image and upload its data (streamed; the service computes its sha256).")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;
        @Option(names = "--file", required = true, paramLabel = "FILE", description = "the image data")
        Path file;
        @Option(names = "--disk-format", defaultValue = "raw",
                description = "raw, qcow2, aki (a kernel), ari (a ramdisk) (default: ${DEFAULT-VALUE})")
        String diskFormat;
        @Option(names = "--kernel", paramLabel = "IMAGE", description = "the kernel image to boot it with (id or name)")
        String kernel;
        @Option(names = "--ramdisk", paramLabel = "IMAGE", description = "the ramdisk image (id or name)")
        String ramdisk;
        @Option(names = "--command-line", paramLabel = "ARGS", description = "the kernel command line")
        String commandLine;
        @Option(names = "--property", paramLabel = "KEY=VALUE", description = "an image property (repeatable)")
        Map<String, String> properties = new LinkedHashMap<>();
        @Option(names = "--public", description = "visible to every project (admin)")
        boolean isPublic;
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException(file + " is not a file");
            }
            CloudClient c = session.client();
            Map<String, Object> fields = new LinkedHashMap<>(properties);
            fields.put("name", name);
            fields.put("disk_format", diskFormat);
            fields.put("container_format", switch (diskFormat) {
                case "aki", "ari", "ami" -> diskFormat;
                default -> "bare";
            });
            fields.put("visibility", isPublic ? "public" : "private");
            if (kernel != null) {
                fields.put("kernel_id", resolve(c, kernel));
            }
            if (ramdisk != null) {
                fields.put("ramdisk_id", resolve(c, ramdisk));
            }
            if (commandLine != null) {
                fields.put("os_command_line", commandLine);
            }
            ObjectNode body = CloudClient.object(fields);
            String id = c.image("POST", "/v2/images", body).path("id").asText();
            c.upload(id, file);
            JsonNode image = c.image("GET", "/v2/images/" + id, null);
            Table.print(spec.commandLine().getOut(), List.of(image), session.json(), COLUMNS);
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete images.")
    static final class Delete implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        CloudSession session;
        @Parameters(paramLabel = "IMAGE", arity = "1..*", description = "id or name")
        List<String> images = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            CloudClient c = session.client();
            for (String ref : images) {
                String id = resolve(c, ref);
                c.image("DELETE", "/v2/images/" + id, null);
                spec.commandLine().getOut().println("image " + id + " deleted");
            }
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    /** An image id, or the id of the one image the caller sees under that name. */
    static String resolve(CloudClient c, String ref) {
        List<String> named = new ArrayList<>();
        for (JsonNode i : c.image("GET", "/v2/images", null).path("images")) {
            if (i.path("id").asText().equals(ref)) {
                return ref;
            }
            if (i.path("name").asText().equals(ref)) {
                named.add(i.path("id").asText());
            }
        }
        if (named.size() > 1) {
            throw new IllegalArgumentException("more than one image is named " + ref + "; use its id");
        }
        if (named.isEmpty()) {
            throw new IllegalArgumentException("no image " + ref);
        }
        return named.get(0);
    }
}
