package io.stratus.image.api;

import io.stratus.api.ApiExceptionMapper;
import io.stratus.image.catalog.CatalogException;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;

/** The catalog's refusals as Glance answers them. */
@Provider
public class CatalogExceptionMapper implements ExceptionMapper<CatalogException> {
    @Context
    UriInfo uri;

    @Override
    public Response toResponse(CatalogException e) {
        return ApiExceptionMapper.render(status(e.reason()), e.getMessage(), uri == null ? "" : uri.getPath());
    }

    static int status(CatalogException.Reason reason) {
        return switch (reason) {
            case NOT_FOUND -> 404;
            case INVALID -> 400;
            case FORBIDDEN -> 403;
            case CONFLICT -> 409;
            case LIMIT_EXCEEDED -> 413;
        };
    }
}
