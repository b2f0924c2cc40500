package io.stratus.scheduler.api.compute;

import io.stratus.api.auth.Caller;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.MultivaluedHashMap;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.UriInfo;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The request a JAX-RS filter or resource reads, without a server: a path, headers and the
 * request's properties (where the token filter puts the caller). Anything else it is asked fails.
 */
final class FakeRequest {
    final MultivaluedMap<String, String> headers = new MultivaluedHashMap<>();
    final Map<String, Object> properties = new HashMap<>();
    private final String path;

    FakeRequest(String path) {
        this.path = path;
    }

    /** A request of {@code userId} in {@code projectId}, with the token filter's caller attached. */
    static FakeRequest of(String path, String userId, String projectId, boolean admin) {
        FakeRequest r = new FakeRequest(path);
        Instant now = Instant.now();
        r.properties.put("stratus.caller", new Caller(userId, userId + "-name", projectId, projectId + "-name",
                admin ? Set.of(Caller.ADMIN) : Set.of(Caller.MEMBER), now, now.plus(Duration.ofHours(1))));
        return r;
    }

    FakeRequest header(String name, String value) {
        headers.add(name, value);
        return this;
    }

    FakeRequest at(Microversion v) {
        v.attachTo(context());
        return this;
    }

    ContainerRequestContext context() {
        UriInfo uri = (UriInfo) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {UriInfo.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("getPath") && (args == null || args.length == 0)) {
                        return path;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        return (ContainerRequestContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ContainerRequestContext.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "getProperty":
                            return properties.get((String) args[0]);
                        case "setProperty":
                            properties.put((String) args[0], args[1]);
                            return null;
                        case "getUriInfo":
                            return uri;
                        case "getHeaders":
                            return headers;
                        case "getHeaderString":
                            return headers.containsKey(args[0]) ? String.join(",", headers.get(args[0])) : null;
                        default:
                            throw new UnsupportedOperationException(method.getName());
                    }
                });
    }
}
