package io.stratus.scheduler.api.compute;

import io.stratus.scheduler.service.SchedulerConfig;
import jakarta.annotation.Priority;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.PreMatching;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriBuilder;
import jakarta.ws.rs.ext.Provider;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compute API version discovery: v2.1 with the microversions Stratus serves ({@link
 * Microversion#MIN} to {@link Microversion#MAX}; {@link MicroversionFilter} reads them from
 * requests). Nova's v2.0 (no microversions) is listed too and served by the same resources.
 */
@Path("/compute/v2.1")
@Produces(MediaType.APPLICATION_JSON)
public class ComputeVersions {
    @Inject
    SchedulerConfig config;

    // The class sits at /compute/v2.1 itself: JAX-RS matches the longest class path first, and
    // the other compute resources live under it.
    @Context
    ContainerRequestContext request;

    /** v2.1's document, or v2.0's when asked at {@code /compute/v2/}. */
    @GET
    public Map<String, Object> current() {
        return Map.of("version", LegacyPath.isLegacy(request) ? legacy(config) : version(config));
    }

    /** {@code GET /compute}: the versions there are. */
    @Path("/compute")
    @Produces(MediaType.APPLICATION_JSON)
    public static class Root {
        @Inject
        SchedulerConfig config;

        @GET
        public Map<String, Object> versions() {
            return Map.of("versions", List.of(legacy(config), version(config)));
        }
    }

    /**
     * Nova's v2.0: the same API without microversions, at {@code /compute/v2/}. Listed first, as
     * Nova does; its requests are served by v2.1's resources ({@link LegacyPath}).
     */
    static Map<String, Object> legacy(SchedulerConfig config) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("id", "v2.0");
        v.put("status", "SUPPORTED");
        v.put("version", "");
        v.put("min_version", "");
        v.put("updated", "2011-01-21T11:33:21Z");
        v.put("links", List.of(Map.of("rel", "self", "href", config.publicUrl() + "/compute/v2/")));
        v.put("media-types", List.of(Map.of("base", "application/json",
                "type", "application/vnd.openstack.compute+json;version=2")));
        return v;
    }

    /**
     * Requests to v2.0 ({@code /compute/v2/...}) go to the same resources as v2.1's, marked as
     * v2.0's: they are served at 2.1 whatever version headers they carry, and answer none.
     */
    @Provider
    @PreMatching
    // Before the microversion filter, which reads the mark.
    @Priority(Priorities.USER - 100)
    public static class LegacyPath implements ContainerRequestFilter {
        private static final String PROPERTY = "stratus.compute.legacy-v2";

        static boolean isLegacy(ContainerRequestContext request) {
            return Boolean.TRUE.equals(request.getProperty(PROPERTY));
        }

        @Override
        public void filter(ContainerRequestContext request) {
            String path = request.getUriInfo().getPath();
            if (path.equals("/compute/v2") || path.startsWith("/compute/v2/")) {
                request.setProperty(PROPERTY, true);
                UriBuilder to = request.getUriInfo().getRequestUriBuilder()
                        .replacePath("/compute/v2.1" + path.substring("/compute/v2".length()));
                request.setRequestUri(to.build());
            }
        }
    }

    static Map<String, Object> version(SchedulerConfig config) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("id", "v2.1");
        v.put("status", "CURRENT");
        v.put("version", Microversion.MAX.toString());
        v.put("min_version", Microversion.MIN.toString());
        v.put("updated", "2013-07-23T11:33:21Z");
        v.put("links", List.of(Map.of("rel", "self", "href", config.publicUrl() + "/compute/v2.1/")));
        v.put("media-types", List.of(Map.of("base", "application/json",
                "type", "application/vnd.openstack.compute+json;version=2.1")));
        return v;
    }
}
