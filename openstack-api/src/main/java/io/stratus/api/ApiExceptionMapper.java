package io.stratus.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.stratus.database.Sql;
import jakarta.ws.rs.NotAllowedException;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.NotSupportedException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Every error leaves the API in the shape OpenStack clients parse: Compute's
 * {@code {"itemNotFound": {"code": 404, "message": ...}}}, Identity's
 * {@code {"error": {"code": 401, "title": ..., "message": ...}}}, Network's
 * {@code {"NeutronError": {"type": "NetworkNotFound", "message": ..., "detail": ""}}}. Unexpected failures are logged
 * with the request's path and answered 500 without internals; an unreachable database is a 503.
 */
@Provider
public class ApiExceptionMapper implements ExceptionMapper<Throwable> {
    private static final Logger LOG = Logger.getLogger(ApiExceptionMapper.class);

    @Context
    UriInfo uri;

    @Override
    public Response toResponse(Throwable e) {
        int status;
        String message;
        String type = null;
        if (e instanceof ApiException api) {
            status = api.status();
            message = api.getMessage();
            type = api.type();
        } else if (e instanceof JsonProcessingException json) {
            status = 400;
            message = "the request body is not valid JSON: " + json.getOriginalMessage();
        } else if (e instanceof NotFoundException) {
            status = 404;
            message = "no such resource: " + path();
        } else if (e instanceof NotAllowedException) {
            status = 405;
            message = "method not allowed on " + path();
        } else if (e instanceof NotSupportedException) {
            status = 415;
            message = "send the request body as application/json";
        } else if (e instanceof WebApplicationException web && web.getResponse().getStatus() < 500) {
            status = web.getResponse().getStatus();
            message = web.getMessage();
            if (web.getCause() instanceof JsonProcessingException json) {
                message = "the request body is not valid JSON: " + json.getOriginalMessage();
            }
        } else if (Sql.unreachable(e)) {
            LOG.warnf("request %s: the database is unreachable: %s", path(), e.getMessage());
            status = 503;
            message = "The service's database is unavailable; try again shortly.";
        } else {
            LOG.errorf(e, "request %s failed", path());
            status = 500;
            message = "The server has either erred or is incapable of performing the requested operation.";
        }
        return render(status, message, type, path());
    }

    private String path() {
        return uri == null ? "" : uri.getPath();
    }

    /** The error response for {@code path}: Identity's shape under /identity, Compute's elsewhere. */
    public static Response render(int status, String message, String path) {
        return render(status, message, null, path);
    }

    /** The error response, with the fault's name where the API has one ({@code type}, or null). */
    public static Response render(int status, String message, String type, String path) {
        Response.ResponseBuilder r = Response.status(status).type(MediaType.APPLICATION_JSON)
                .entity(body(status, message, type, path));
        if (status == 401) {
            r.header("WWW-Authenticate", "Keystone uri=\"/identity/v3\"");
        }
        return r.build();
    }

    /** The error body alone, for handlers outside JAX-RS. */
    public static Map<String, Object> body(int status, String message, String path) {
        return body(status, message, null, path);
    }

    private static Map<String, Object> body(int status, String message, String type, String path) {
        Map<String, Object> body = new LinkedHashMap<>();
        Map<String, Object> detail = new LinkedHashMap<>();
        if (path.startsWith("/network")) {
            // Neutron names each fault; webob's name for the status where the fault has none.
            detail.put("type", type != null ? type : "HTTP" + title(status).replace(" ", ""));
            detail.put("message", message);
            detail.put("detail", "");
            body.put("NeutronError", detail);
            return body;
        }
        detail.put("code", status);
        if (path.startsWith("/identity")) {
            detail.put("title", title(status));
            detail.put("message", message);
            body.put("error", detail);
        } else {
            detail.put("message", message);
            body.put(computeName(status), detail);
        }
        return body;
    }

    private static String computeName(int status) {
        switch (status) {
            case 400:
                return "badRequest";
            case 401:
                return "unauthorized";
            case 403:
                return "forbidden";
            case 404:
                return "itemNotFound";
            case 405:
                return "methodNotAllowed";
            // Nova has no name of its own for 406 (a microversion out of range): its default.
            case 406:
                return "computeFault";
            case 409:
                return "conflictingRequest";
            case 413:
                return "overLimit";
            case 415:
                return "unsupportedMediaType";
            case 503:
                return "serviceUnavailable";
            default:
                return status >= 500 ? "computeFault" : "badRequest";
        }
    }

    private static String title(int status) {
        switch (status) {
            case 400:
                return "Bad Request";
            case 401:
                return "Unauthorized";
            case 403:
                return "Forbidden";
            case 404:
                return "Not Found";
            case 405:
                return "Method Not Allowed";
            case 409:
                return "Conflict";
            case 503:
                return "Service Unavailable";
            default:
                return status >= 500 ? "Internal Server Error" : "Bad Request";
        }
    }
}
