package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.image.Image;
import io.stratus.scheduler.volume.VolumeException;
import io.stratus.scheduler.volume.VolumeService;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code rebuild} and {@code createImage} server actions at the API's edge, as Nova's
 * {@code servers.py} {@code _action_rebuild} and {@code _action_create_image} check them; the
 * work is {@link io.stratus.scheduler.conductor.ImageActions}'.
 */
final class ServerImageActions {

    private ServerImageActions() {
    }

    /** 202 with the server as Nova shows it after a rebuild starts, {@code adminPass} included. */
    static Response rebuild(ServersResource api, Caller caller, Server s, JsonNode args) {
        String ref = ServersResource.lastSegment(Json.string(args, "imageRef", 1024));
        if (s.imageId().isEmpty()) {
            // Nova's ImageUnacceptable: the root volume is not reimaged (Stratus does not reimage it at all).
            throw ApiException.badRequest("Image " + ref + " is unacceptable: Unable to rebuild with a different"
                    + " image for a volume-backed server.");
        }
        Optional<String> name = Json.optionalString(args, "name", 255);
        if (name.isPresent() && name.get().isBlank()) {
            throw ApiException.badRequest("Invalid input: 'name' must not be blank");
        }
        String password = Json.optionalString(args, "adminPass", 255).orElseGet(ServersResource::generatedPassword);
        Optional<Map<String, String>> metadata = args.has("metadata") && !args.get("metadata").isNull()
                ? Optional.of(ServerMetadataResource.read(args.get("metadata"), "metadata")) : Optional.empty();
        Optional<String> ipv4 = args.has("accessIPv4") ? Optional.of(ServersResource.accessIp(args, "accessIPv4"))
                : Optional.empty();
        Optional<String> ipv6 = args.has("accessIPv6") ? Optional.of(ServersResource.accessIp(args, "accessIPv6"))
                : Optional.empty();
        Image image = api.bootableImage(caller, ref, s.ramMib(), s.diskGib());
        api.imageActions.rebuild(s, image, name, metadata);
        // Nova's rebuild replaces the metadata and access addresses it is given.
        metadata.ifPresent(m -> api.metadata.replace(s.id(), m));
        if (ipv4.isPresent() || ipv6.isPresent()) {
            Server now = api.servers.find(s.id()).orElse(s);
            api.servers.rename(s.id(), now.name(), ipv4.orElse(now.accessIpv4()), ipv6.orElse(now.accessIpv6()));
        }
        Server now = api.servers.find(s.id()).orElse(s);
        // Nova's rebuild answer is the server without the extensions' fields (its view builder's show
        // with every show_* switch off), and the password.
        Map<String, Object> view = Views.serverCore(api.config.publicUrl(), now, ServersResource.shownFlavor(now),
                api.metadata.of(s.id()), api.ports().view(s.id()), TokenFilter.caller(api.request).isAdmin(),
                () -> api.hostNames(now));
        view.put("adminPass", password);
        return Response.accepted(Map.of("server", view)).build();
    }

    /**
     * 202 with the new image's address in {@code Location} (microversions below 2.45, which is
     * all this API claims), as Nova answers.
     */
    static Response createImage(ServersResource api, Caller caller, Server s, JsonNode args) {
        String name = Json.string(args, "name", 255);
        if (name.isBlank()) {
            throw ApiException.badRequest("Invalid input: 'name' must not be blank");
        }
        Map<String, String> metadata = ServerMetadataResource.read(args.get("metadata"), "metadata");
        String token = api.request.getHeaderString("X-Auth-Token");
        if (token == null || token.isEmpty()) {
            throw new ApiException(401, "The request you have made requires authentication.");
        }
        if (s.imageId().isEmpty()) {
            // Nova's snapshot_volume_backed: its volumes are snapshotted, and the image only names them.
            VolumeService.Asker asker = new VolumeService.Asker(caller.projectId(), caller.userId(),
                    caller.isAdmin(), token);
            String imageId;
            try {
                imageId = api.imageActions.createVolumeBackedImage(s, token, name, metadata,
                        () -> api.volumeAttachmentsOfServers.snapshotForImage(asker, s.id(), name));
            } catch (VolumeException e) {
                throw switch (e.kind()) {
                    case INVALID -> ApiException.badRequest(e.getMessage());
                    case OVER_QUOTA -> new ApiException(403, "Quota exceeded for snapshots: " + e.getMessage());
                    default -> e;
                };
            }
            return Response.accepted().location(URI.create(api.images.url() + "/v2/images/" + imageId)).build();
        }
        Optional<Image> base = api.images.find(s.imageId());
        long flavorDisk = api.flavors.byId(s.flavorId()).map(Flavor::diskGib).orElse(s.diskGib());
        String imageId = api.imageActions.createImage(s, token, caller.userId(), name, metadata, base, flavorDisk);
        return Response.accepted().location(URI.create(api.images.url() + "/v2/images/" + imageId)).build();
    }

}
