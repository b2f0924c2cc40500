package io.stratus.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.regex.Pattern;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Request bodies are JSON and small (oslo.middleware's {@code max_request_body_size}, 112 KiB in
 * Glance, Nova and Keystone): a body announced larger than {@code quarkus.http.limits.max-body-size}
 * is answered 413 with the API's error shape before any of it is read. Quarkus's own check (route
 * order -2) would answer the same status with an empty body; this one runs just before it. A
 * chunked body is cut at the same size by Quarkus as it is read. Image data is not JSON: the image
 * service's upload route ({@code PUT /image/v2/images/{id}/file}, and {@code stage}) runs before
 * every route here and has limits of its own.
 */
@ApplicationScoped
public class RequestBodyLimit {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern IMAGE_DATA = Pattern.compile("/image/v2/images/[^/]+/(file|stage)");
    /** After the image upload route (-100), before Quarkus's limit (-2). */
    static final int ORDER = -3;

    @ConfigProperty(name = "quarkus.http.limits.max-body-size")
    MemorySize limit;

    void install(@Observes Router router) {
        long max = limit.asLongValue();
        router.route().order(ORDER).handler(ctx -> check(ctx, max));
    }

    private static void check(RoutingContext ctx, long max) {
        String length = ctx.request().getHeader("Content-Length");
        if (length == null || (ctx.request().method().name().equals("PUT")
                && IMAGE_DATA.matcher(ctx.request().path()).matches())) {
            ctx.next();
            return;
        }
        long announced;
        try {
            announced = Long.parseLong(length.trim());
        } catch (NumberFormatException e) {
            ctx.next(); // the HTTP codec has answered 400 for it already
            return;
        }
        if (announced <= max) {
            ctx.next();
            return;
        }
        String path = ctx.request().path();
        String message = "Request Entity Too Large: the body has " + announced + " bytes and this API takes at most "
                + max + " (JSON requests" + (path.startsWith("/image") ? "; image data goes to PUT /v2/images/{id}/file"
                : "") + ")";
        String body;
        try {
            body = JSON.writeValueAsString(ApiExceptionMapper.body(413, message, path));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        // The body is not read: the connection closes once the answer is out, as Quarkus's check does.
        ctx.response().setStatusCode(413).putHeader("Content-Type", "application/json")
                .putHeader("Connection", "close").end(body).onComplete(done -> ctx.request().connection().close());
    }
}
