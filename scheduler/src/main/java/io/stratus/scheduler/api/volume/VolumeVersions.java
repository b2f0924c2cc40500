package io.stratus.scheduler.api.volume;

import io.stratus.scheduler.service.SchedulerConfig;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Block Storage API's version documents: {@code /volume/} answers 300 with the versions (as
 * Cinder's root does), {@code /volume/v3/} 200 with v3, its microversions 3.0 to
 * {@value VolumeMicroversion#MAX} ({@link VolumeMicroversion}).
 */
@Path("/volume")
@Produces(MediaType.APPLICATION_JSON)
public class VolumeVersions {
    @Inject
    SchedulerConfig config;

    @GET
    public Response versions() {
        return Response.status(300).entity(Map.of("versions", List.of(v3(config.publicUrl())))).build();
    }

    @GET
    @Path("/v3")
    public Map<String, Object> v3() {
        return Map.of("versions", List.of(v3(config.publicUrl())));
    }

    static Map<String, Object> v3(String publicUrl) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", "v3.0");
        m.put("status", "CURRENT");
        m.put("version", VolumeMicroversion.MAX);
        m.put("min_version", "3.0");
        m.put("updated", "2023-08-31T00:00:00Z");
        m.put("links", List.of(Map.of("rel", "describedby", "type", "text/html", "href",
                "https://docs.openstack.org/"), Map.of("rel", "self", "href", publicUrl + "/volume/v3/")));
        m.put("media-types", List.of(Map.of("base", "application/json", "type",
                "application/vnd.openstack.volume+json;version=3")));
        return m;
    }
}
