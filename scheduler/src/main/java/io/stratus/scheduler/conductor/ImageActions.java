package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.CreateImage;
import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.Rebuild;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.exception.InstanceInvalidState;
import io.stratus.scheduler.exception.ServiceUnavailable;
import io.stratus.scheduler.image.Image;
import io.stratus.scheduler.image.ImageCatalog;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * The server actions about images: Nova's rebuild (the server boots a fresh disk of another image)
 * and createImage (its disk becomes a new image). Each starts its task only from the states Nova
 * allows it in, then sends the command to the server's host, as {@link ServerActions} does.
 */
public final class ImageActions {
    private static final Logger LOG = Logger.getLogger(ImageActions.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Image properties of the server's image that its images keep (Nova keeps the image's system metadata). */
    private static final Set<String> NOT_INHERITED = Set.of("image_type", "instance_uuid", "base_image_ref",
            "user_id", "image_location", "image_state", "owner_id", "owner_project_name", "owner_user_name");

    private final ServerStore servers;
    private final HostCommands commands;
    private final ImageCatalog images;

    public ImageActions(ServerStore servers, HostCommands commands, ImageCatalog images) {
        this.servers = servers;
        this.commands = commands;
        this.images = images;
    }

    /**
     * Rebuilds the server from {@code image} (checked by the caller: visible, active, fits the
     * flavor): from ACTIVE, SHUTOFF or ERROR, as Nova allows. The image (and the name, when given)
     * are the server's at once, as in Nova.
     *
     * @param metadata the server's new metadata, when the request gives it
     */
    public void rebuild(Server s, Image image, Optional<String> name, Optional<Map<String, String>> metadata) {
        String host = s.host().orElseThrow(() -> InstanceInvalidState.of(s, "rebuild"));
        String request = StateCheck.startTask(servers, s, "rebuild", TaskState.REBUILDING, InstanceState.ACTIVE,
                InstanceState.SHUTOFF, InstanceState.ERROR);
        servers.rebuildWith(s.id(), image.id(), image.kernelId(), image.ramdiskId(), name);
        Rebuild.Builder command = Rebuild.newBuilder().setSource(BootRecipe.source(image));
        name.ifPresent(command::setName);
        metadata.ifPresent(m -> command.setReplaceMetadata(true).putAllMetadata(m));
        try {
            commands.send(host, commands.envelope(s.id(), s.projectId(), request).setRebuild(command).build());
        } catch (DispatchException e) {
            servers.rebuildWith(s.id(), s.imageId(), s.launch().kernelId(), s.launch().ramdiskId(),
                    Optional.of(s.name()));
            servers.abandonTask(s.id(), request, new Server.Fault("DispatchFailed", e.getMessage()));
            throw new ServiceUnavailable("'rebuild' could not be handed to host " + host + "; try again: "
                    + e.getMessage(), e);
        }
        LOG.infof("instance %s request %s: rebuild from image %s sent to %s", s.id(), request, image.id(), host);
    }

    /**
     * Nova's createImage (snapshot): a queued image is created in the caller's project at once,
     * with the properties Nova gives it (the server's image's, {@code image_type=snapshot},
     * {@code instance_uuid}, {@code base_image_ref}, {@code user_id}, then the request's
     * metadata); the server's host copies the disk into it. From ACTIVE, SHUTOFF or PAUSED.
     *
     * @param callerToken the caller's token: the image is created as the caller, in its project
     * @return the new image's id
     */
    public String createImage(Server s, String callerToken, String userId, String name, Map<String, String> metadata,
                              Optional<Image> base, long flavorDiskGib) {
        String host = s.host().orElseThrow(() -> InstanceInvalidState.of(s, "createImage"));
        String request = StateCheck.startTask(servers, s, "createImage", TaskState.IMAGE_SNAPSHOT,
                InstanceState.ACTIVE, InstanceState.SHUTOFF, InstanceState.PAUSED);
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("name", name);
        // Raw: what instance disks layer over, so that the image boots at once.
        fields.put("disk_format", "raw");
        fields.put("container_format", "bare");
        fields.put("visibility", "private");
        fields.put("min_ram", base.map(Image::minRamMib).orElse(0L));
        fields.put("min_disk", Math.max(flavorDiskGib, base.map(Image::minDiskGib).orElse(0L)));
        base.ifPresent(b -> b.properties().forEach((k, v) -> {
            if (!NOT_INHERITED.contains(k)) {
                fields.put(k, v);
            }
        }));
        fields.put("image_type", "snapshot");
        fields.put("instance_uuid", s.id());
        fields.put("base_image_ref", s.imageId());
        fields.put("user_id", userId);
        fields.putAll(metadata);
        String imageId;
        try {
            imageId = images.create(callerToken, fields);
        } catch (RuntimeException e) {
            servers.abandonTask(s.id(), request, new Server.Fault("ImageCreateFailed", e.getMessage()));
            throw e;
        }
        CommandEnvelope envelope = commands.envelope(s.id(), s.projectId(), request)
                .setCreateImage(CreateImage.newBuilder().setImageId(imageId)).build();
        try {
            commands.send(host, envelope);
        } catch (DispatchException e) {
            servers.abandonTask(s.id(), request, new Server.Fault("DispatchFailed", e.getMessage()));
            deleteQuietly(images, imageId);
            throw new ServiceUnavailable("'createImage' could not be handed to host " + host + "; try again: "
                    + e.getMessage(), e);
        }
        LOG.infof("instance %s request %s: image %s (%s) to be made on %s", s.id(), request, imageId, name, host);
        return imageId;
    }

    /**
     * Nova's {@code snapshot_volume_backed}: createImage of a server booted from a volume, from
     * ACTIVE, SHUTOFF or PAUSED with no task. Its volumes are snapshotted ({@code snapshots}, the
     * image's block device mapping as Nova writes it) and the image holds no data, only them: size
     * 0, active at once (Nova uploads empty data, {@code qcow2}/{@code bare}, for Glance v2 to
     * activate it), private, with the request's metadata and Nova's {@code root_device_name},
     * {@code block_device_mapping} (JSON, as Nova's Glance client writes a list property) and
     * {@code bdm_v2}. No host is involved: the server's task does not change.
     *
     * @return the new image's id
     */
    public String createVolumeBackedImage(Server s, String callerToken, String name, Map<String, String> metadata,
                                          Supplier<List<Map<String, Object>>> snapshots) {
        if ((s.vmState() != InstanceState.ACTIVE && s.vmState() != InstanceState.SHUTOFF
                && s.vmState() != InstanceState.PAUSED) || s.taskState() != TaskState.NONE) {
            throw InstanceInvalidState.of(s, "createImage");
        }
        List<Map<String, Object>> mapping = snapshots.get();
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("name", name);
        fields.put("disk_format", "qcow2");
        fields.put("container_format", "bare");
        fields.put("visibility", "private");
        fields.putAll(metadata);
        fields.put("root_device_name", "/dev/vda");
        if (!mapping.isEmpty()) {
            try {
                fields.put("block_device_mapping", JSON.writeValueAsString(mapping));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("a list of plain maps is JSON", e);
            }
            fields.put("bdm_v2", "True");
        }
        String imageId = images.create(callerToken, fields);
        Path empty = null;
        try {
            empty = Files.createTempFile("stratus-empty-image-", ".qcow2");
            images.upload(imageId, empty);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(images, imageId);
            throw new ServiceUnavailable("the image of volume-backed server " + s.id() + " could not be made"
                    + " active: " + e.getMessage(), e);
        } finally {
            if (empty != null) {
                try {
                    Files.deleteIfExists(empty);
                } catch (IOException ignored) {
                    // An empty temporary file left behind is nothing.
                }
            }
        }
        LOG.infof("instance %s: image %s (%s) names the snapshots of its %d volumes", s.id(), imageId, name,
                mapping.size());
        return imageId;
    }

    /** The final event of a createImage that failed names its image: the image goes. */
    static void imageFailed(ImageCatalog images, InstanceEvent e) {
        LOG.warnf("instance %s: image %s failed (%s: %s); deleting it", e.getInstanceId(), e.getImageId(),
                e.getFault().getCode(), e.getFault().getMessage());
        deleteQuietly(images, e.getImageId());
    }

    private static void deleteQuietly(ImageCatalog images, String imageId) {
        try {
            images.delete(imageId);
        } catch (RuntimeException e) {
            LOG.warnf("image %s of a failed createImage was not deleted: %s", imageId, e.getMessage());
        }
    }
}
