package io.stratus.scheduler.api.network;

import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.network.Network;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.util.List;
import java.util.Map;

/** What every Network API resource does alike: who calls, and Neutron's list, show and create answers. */
abstract class NeutronResource {
    @Context
    ContainerRequestContext request;
    @Context
    UriInfo uri;

    Caller caller() {
        return TokenFilter.caller(request);
    }

    /** Whether the caller sees what {@code projectId} owns: its own, or anything for an admin. */
    boolean owns(String projectId) {
        Caller c = caller();
        return c.isAdmin() || projectId.equals(c.projectId());
    }

    /** Whether the caller sees a network: its own, a shared or external one, or any for an admin. */
    boolean sees(Network n) {
        return owns(n.projectId()) || n.visibleTo(caller().projectId());
    }

    /** Whether the caller sees a network's subnets and may put ports on it: its own or a shared one. */
    boolean seesSubnetsOf(Network n) {
        return owns(n.projectId()) || n.shared();
    }

    Map<String, Object> listed(String collection, List<Map<String, Object>> rows) {
        return NeutronListing.list(collection, rows, uri);
    }

    Map<String, Object> shown(String resource, Map<String, Object> row) {
        return Map.of(resource, NeutronListing.fields(row, uri));
    }

    /** 201 with the one resource made, or the list of a bulk create. */
    static Response created(String resource, String collection, List<Map<String, Object>> rows, boolean bulk) {
        return Response.status(201).entity(bulk ? Map.of(collection, rows) : Map.of(resource, rows.get(0))).build();
    }
}
