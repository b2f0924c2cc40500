package io.stratus.image.api;

import io.stratus.api.ApiException;
import io.stratus.api.ApiExceptionMapper;
import io.stratus.api.auth.Caller;
import io.stratus.image.auth.RemoteIdentity;
import io.stratus.image.blob.BlobStore;
import io.stratus.image.config.ImageServiceConfig;
import io.stratus.image.store.Image;
import io.stratus.image.store.ImageStore;
import io.vertx.core.Context;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.Json;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import org.jboss.logging.Logger;

/**
 * {@code PUT /image/v2/images/{id}/file}: takes an image's data, streamed. The image is
 * {@code saving} meanwhile and {@code active} only when all of it is stored; a truncated, aborted
 * or oversize upload leaves it {@code queued} with nothing stored, a storage failure
 * {@code killed}.
 *
 * <p>Served by Vert.x directly rather than JAX-RS: the upload is admitted (token, ownership,
 * size limit and quota against the announced length) before one byte of the body is read, the
 * body is read no faster than the disk takes it, and a refusal stops reading at once and closes
 * the connection once the answer is out. HTTP clients that stream gigabytes do not stop when an
 * early answer comes, and whatever went on reading their body would have to buffer it.
 */
@ApplicationScoped
public class UploadRoute {
    private static final Logger LOG = Logger.getLogger(UploadRoute.class);
    private static final long HIGH_WATER = 1 << 20;
    private static final long LOW_WATER = 256 << 10;
    private static final long IDLE_MILLIS = 300_000;
    private static final long LINGER_MILLIS = 5_000;

    @Inject
    ImageStore images;
    @Inject
    BlobStore blobs;
    @Inject
    ImageServiceConfig config;
    @Inject
    RemoteIdentity identity;

    /** What an admitted upload may store. */
    private record Admission(Image image, long limit, long room, long announced) {
    }

    void install(@Observes Router router) {
        // Ahead of the JAX-RS routes, which would start reading the body.
        router.put("/image/v2/images/:id/file").order(-100).handler(this::upload);
    }

    private void upload(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        request.pause();
        String id = ctx.pathParam("id");
        String token = request.getHeader("X-Auth-Token");
        String length = request.getHeader("Content-Length");
        Context context = ctx.vertx().getOrCreateContext();
        StreamedBody body = new StreamedBody(request, context, HIGH_WATER, LOW_WATER);
        context.<Admission>executeBlocking(() -> admit(id, token, length), false).onComplete(admitted -> {
            if (admitted.failed()) {
                refuse(ctx, body, admitted.cause(), id);
                return;
            }
            body.start();
            context.<Void>executeBlocking(() -> {
                receive(admitted.result(), body);
                return null;
            }, false).onComplete(stored -> {
                if (stored.failed()) {
                    refuse(ctx, body, stored.cause(), id);
                } else {
                    ctx.response().setStatusCode(204).end();
                }
            });
        });
    }

    private Admission admit(String id, String token, String length) {
        Caller c = identity.require(token);
        long announced = -1;
        if (length != null) {
            try {
                announced = Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                throw ApiException.badRequest("Content-Length is not a number: " + length);
            }
        }
        Image image = images.find(id).filter(i -> c.readsAll() || i.visibleTo(c.projectId()))
                .orElseThrow(() -> ApiException.notFound("No image found with ID " + id));
        // Compute agents (role service) upload the data of images of instances into the owner's image,
        // which the control plane created for the owner (Nova's snapshot, its compute host uploading).
        boolean service = c.roles().contains("service");
        if (!service && (!c.mayChange() || (!c.isAdmin() && !image.owner().equals(c.projectId())))) {
            throw ApiException.forbidden("You are not permitted to upload data for image " + id);
        }
        // The upload reserves its announced length, or all it may store, before it reads a byte:
        // uploads under way count against the quota (Glance's image_size_total counts them too).
        ImageStore.Reservation r = images.startUpload(id, image.owner(), announced, config.maxImageBytes(),
                config.projectQuotaBytes());
        long room = r.room();
        switch (r.outcome()) {
            case OVER_QUOTA -> throw new ApiException(413, tooLarge(announced, room));
            case NOT_QUEUED -> throw ApiException.conflict("Image status transition from " + image.status()
                    + " to saving is not allowed: data is uploaded once, to a queued image");
            case STARTED -> { }
        }
        long limit = r.reserved();
        return new Admission(image, limit, room, announced);
    }

    private void receive(Admission a, StreamedBody body) throws Exception {
        String id = a.image().id();
        BlobStore.Blob blob;
        BlobStore.Upload upload = null;
        try {
            upload = blobs.begin(a.limit());
            io.vertx.core.buffer.Buffer piece;
            while ((piece = body.take(IDLE_MILLIS)) != null) {
                upload.write(piece.getByteBuf().nioBuffer());
            }
            blob = upload.finish(a.announced());
        } catch (BlobStore.TooLargeException e) {
            images.transition(id, "saving", "queued");
            throw new ApiException(413, tooLarge(-1, a.room()));
        } catch (BlobStore.IncompleteException e) {
            images.transition(id, "saving", "queued");
            LOG.warnf("image %s: %s; it stays queued", id, e.getMessage());
            throw ApiException.badRequest(e.getMessage() + "; nothing was stored, upload again");
        } catch (IOException | InterruptedException e) {
            // Only the scratch file's own writes can fail for want of space; anything else is the client.
            boolean disk = e.getMessage() != null && e.getMessage().contains("No space left");
            images.transition(id, "saving", disk ? "killed" : "queued");
            LOG.warnf("image %s: upload failed after %d bytes: %s", id, upload == null ? 0 : upload.size(),
                    e.getMessage());
            throw new ApiException(disk ? 507 : 400, "the upload failed: " + e.getMessage());
        } finally {
            if (upload != null) {
                upload.abort();
            }
        }
        if (!images.activate(id, blob.size(), blob.sha256())) {
            // Deleted while it uploaded: drop the data unless another image holds it.
            if (!images.referenced(blob.sha256())) {
                blobs.delete(blob.sha256());
            }
            throw ApiException.conflict("image " + id + " was deleted during the upload");
        }
        LOG.infof("image %s: %d bytes stored as sha256 %s", id, blob.size(), blob.sha256());
    }

    private String tooLarge(long length, long room) {
        return "Image exceeds the storage limit: at most " + Math.min(config.maxImageBytes(), Math.max(0, room))
                + " bytes may be stored" + (length >= 0 ? " and the upload has " + length : "")
                + " (image limit " + config.maxImageBytes() + ", project quota left " + Math.max(0, room)
                + ", uploads under way counting at what they may store)";
    }

    /**
     * Answers the error and closes the connection when the client has sent the rest of its body,
     * or after {@link #LINGER_MILLIS}: what it sends meanwhile is read and dropped.
     */
    private void refuse(RoutingContext ctx, StreamedBody body, Throwable failure, String id) {
        int status;
        String message;
        if (failure instanceof ApiException api) {
            status = api.status();
            message = api.getMessage();
        } else {
            LOG.errorf(failure, "image %s: upload failed", id);
            status = 500;
            message = "The server has either erred or is incapable of performing the requested operation.";
        }
        HttpServerRequest request = ctx.request();
        HttpServerResponse response = ctx.response();
        body.discard();
        if (response.ended()) {
            return;
        }
        response.setStatusCode(status).putHeader("Content-Type", "application/json")
                .putHeader("Connection", "close");
        if (status == 401) {
            response.putHeader("WWW-Authenticate", "Keystone uri=\"/identity/v3\"");
        }
        response.end(Json.encode(ApiExceptionMapper.body(status, message, "/image")));
        long timer = ctx.vertx().setTimer(LINGER_MILLIS, t -> request.connection().close());
        request.endHandler(v -> {
            ctx.vertx().cancelTimer(timer);
            request.connection().close();
        });
    }
}
