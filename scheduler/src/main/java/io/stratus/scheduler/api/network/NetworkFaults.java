package io.stratus.scheduler.api.network;

import io.stratus.api.ApiException;
import io.stratus.api.ApiExceptionMapper;
import io.stratus.scheduler.network.NetworkException;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;

/** The network model's refusals as Neutron answers them: its fault name and its status code. */
@Provider
public class NetworkFaults implements ExceptionMapper<NetworkException> {
    @Context
    UriInfo uri;

    @Override
    public Response toResponse(NetworkException e) {
        return ApiExceptionMapper.render(status(e.kind()), e.getMessage(), e.type(), uri == null ? "/network"
                : uri.getPath());
    }

    /** The same refusal as an {@link ApiException}, for code that rethrows at the edge. */
    static ApiException api(NetworkException e) {
        return new ApiException(status(e.kind()), e.getMessage(), e.type());
    }

    private static int status(NetworkException.Kind kind) {
        switch (kind) {
            case NOT_FOUND:
                return 404;
            case CONFLICT:
            case OVER_QUOTA:
                return 409;
            case FORBIDDEN:
                return 403;
            default:
                return 400;
        }
    }
}
