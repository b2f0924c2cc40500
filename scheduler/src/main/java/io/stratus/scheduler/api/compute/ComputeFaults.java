package io.stratus.scheduler.api.compute;

import io.stratus.api.ApiExceptionMapper;
import io.stratus.scheduler.exception.ComputeException;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;

/**
 * The compute service's refusals as Nova answers them: the one place where a domain exception
 * becomes an HTTP status (Nova's API maps {@code InstanceInvalidState} to 409 the same way), in
 * the error body of the path's API.
 */
@Provider
public class ComputeFaults implements ExceptionMapper<ComputeException> {
    @Context
    UriInfo uri;

    @Override
    public Response toResponse(ComputeException e) {
        return ApiExceptionMapper.render(status(e.kind()), e.getMessage(), uri == null ? "/compute" : uri.getPath());
    }

    static int status(ComputeException.Kind kind) {
        return switch (kind) {
            case INVALID -> 400;
            case NOT_FOUND -> 404;
            case UNAUTHENTICATED -> 401;
            case FORBIDDEN -> 403;
            case OVER_LIMIT -> 413;
            case CONFLICT -> 409;
            case UNAVAILABLE -> 503;
        };
    }
}
