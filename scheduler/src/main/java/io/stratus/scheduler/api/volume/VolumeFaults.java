package io.stratus.scheduler.api.volume;

import io.stratus.api.ApiExceptionMapper;
import io.stratus.scheduler.volume.VolumeException;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;

/**
 * The volume service's refusals as Cinder answers them: its fault shape is Nova's
 * ({@code {"badRequest": {"code": 400, "message": ...}}}), a volume in the wrong status is a 400
 * (InvalidVolume) and a quota a 413.
 */
@Provider
public class VolumeFaults implements ExceptionMapper<VolumeException> {
    @Context
    UriInfo uri;

    @Override
    public Response toResponse(VolumeException e) {
        return ApiExceptionMapper.render(status(e.kind()), e.getMessage(), uri == null ? "/volume" : uri.getPath());
    }

    static int status(VolumeException.Kind kind) {
        return switch (kind) {
            case NOT_FOUND -> 404;
            case INVALID -> 400;
            case OVER_QUOTA -> 413;
            case FORBIDDEN -> 403;
            case CONFLICT -> 409;
            case FAILED -> 500;
        };
    }
}
