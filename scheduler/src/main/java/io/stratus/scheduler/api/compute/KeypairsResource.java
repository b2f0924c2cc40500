package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.api.Json;
import io.stratus.api.auth.Caller;
import io.stratus.api.auth.TokenFilter;
import io.stratus.scheduler.compute.QuotaStore;
import io.stratus.scheduler.keypairs.InvalidKeypairException;
import io.stratus.scheduler.keypairs.KeyMaterial;
import io.stratus.scheduler.keypairs.KeyType;
import io.stratus.scheduler.keypairs.Keypair;
import io.stratus.scheduler.keypairs.KeypairStore;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * {@code /compute/v2.1/os-keypairs}: the caller's own keypairs (Nova's API up to 2.9, where a
 * keypair is always its caller's). Create generates one (the private part is in that answer only)
 * or imports a public key after Nova's checks; from 2.2 a keypair has a type, {@code ssh} or
 * {@code x509}, and create answers 201, delete 204 (before: 200 and 202).
 */
@Path("/compute/v2.1/os-keypairs")
@Produces(MediaType.APPLICATION_JSON)
public class KeypairsResource {
    private static final Logger LOG = Logger.getLogger(KeypairsResource.class);
    /** Nova's keypair names up to 2.91: these characters, 1 to 255 of them, no space at either end. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_ -]{1,255}");
    /** The largest public key taken: its column's size. */
    private static final int MAX_PUBLIC_KEY = 65535;

    @Inject
    KeypairStore keypairs;
    @Inject
    QuotaStore quotas;

    @Context
    ContainerRequestContext request;

    @GET
    public Map<String, Object> list() {
        Caller caller = TokenFilter.caller(request);
        boolean typed = typed();
        return Map.of("keypairs", keypairs.list(caller.userId()).stream()
                .map(k -> Map.of("keypair", summary(k, typed))).toList());
    }

    @GET
    @Path("/{name}")
    public Map<String, Object> show(@PathParam("name") String name) {
        Keypair k = owned(name);
        Map<String, Object> m = summary(k, false);
        m.put("user_id", k.userId());
        m.put("created_at", Views.time(k.createdAt()));
        m.put("updated_at", null);
        m.put("deleted", false);
        m.put("deleted_at", null);
        m.put("id", k.id());
        if (typed()) {
            m.put("type", k.type().apiName());
        }
        return Map.of("keypair", m);
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(JsonNode body) {
        Caller caller = TokenFilter.caller(request);
        boolean typed = typed();
        boolean legacy = ComputeVersions.LegacyPath.isLegacy(request);
        JsonNode k = Json.object(body, "keypair");
        if (!legacy) {
            refuseOtherFields(body, Set.of("keypair"), "the request body");
            refuseOtherFields(k, typed ? Set.of("name", "public_key", "type") : Set.of("name", "public_key"),
                    "'keypair'");
        }
        String name = name(k, legacy);
        KeyType type = KeyType.SSH;
        if (typed && k.hasNonNull("type")) {
            JsonNode t = k.get("type");
            type = (t.isTextual() ? KeyType.ofApiName(t.asText()) : Optional.<KeyType>empty()).orElseThrow(() ->
                    ApiException.badRequest("'type' must be 'ssh' or 'x509', not " + t));
        }
        Optional<String> imported = Optional.empty();
        if (k.has("public_key")) {
            JsonNode p = k.get("public_key");
            if (!p.isTextual()) {
                throw ApiException.badRequest("'public_key' must be a string");
            }
            if (p.asText().length() > MAX_PUBLIC_KEY) {
                throw ApiException.badRequest("Keypair data is invalid: the public key is longer than "
                        + MAX_PUBLIC_KEY + " characters");
            }
            imported = Optional.of(p.asText());
        }
        checkQuota(caller, 1);
        String publicKey;
        String fingerprint;
        Optional<String> privateKey = Optional.empty();
        try {
            if (imported.isPresent()) {
                publicKey = imported.get();
                fingerprint = type.fingerprint(publicKey);
            } else {
                KeyMaterial made = type.generate(caller.userId());
                publicKey = made.publicKey();
                fingerprint = made.fingerprint();
                privateKey = Optional.of(made.privateKey());
            }
        } catch (InvalidKeypairException e) {
            throw ApiException.badRequest("Keypair data is invalid: " + e.getMessage());
        }
        Keypair created = keypairs.create(caller.userId(), name, type, publicKey, fingerprint).orElseThrow(() ->
                ApiException.conflict("Key pair '" + name + "' already exists."));
        // As Nova does: checked again after creating, so that racing creates cannot slip past the quota.
        if (overQuota(caller, 0)) {
            keypairs.delete(caller.userId(), name);
            throw ApiException.forbidden("Quota exceeded, too many key pairs.");
        }
        LOG.infof("keypair %s (%s, %s) %s by %s", name, type.apiName(), fingerprint,
                imported.isPresent() ? "imported" : "generated", caller.userName());
        Map<String, Object> out = new LinkedHashMap<>();
        privateKey.ifPresent(p -> out.put("private_key", p));
        if (typed) {
            out.put("type", created.type().apiName());
        }
        out.put("name", created.name());
        out.put("public_key", created.publicKey());
        out.put("fingerprint", created.fingerprint());
        out.put("user_id", created.userId());
        return Response.status(typed ? 201 : 200).entity(Map.of("keypair", out)).build();
    }

    @DELETE
    @Path("/{name}")
    public Response delete(@PathParam("name") String name) {
        Caller caller = TokenFilter.caller(request);
        if (!keypairs.delete(caller.userId(), name)) {
            throw notFound(name, caller);
        }
        return Response.status(typed() ? 204 : 202).build();
    }

    /** From 2.2 keypairs have a type, and create and delete answer 201 and 204. */
    private boolean typed() {
        return Microversion.of(request).atLeast(2, 2);
    }

    private Keypair owned(String name) {
        Caller caller = TokenFilter.caller(request);
        return keypairs.find(caller.userId(), name).orElseThrow(() -> notFound(name, caller));
    }

    private static ApiException notFound(String name, Caller caller) {
        return ApiException.notFound("Keypair " + name + " not found for user " + caller.userId());
    }

    private static Map<String, Object> summary(Keypair k, boolean typed) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", k.name());
        m.put("public_key", k.publicKey());
        m.put("fingerprint", k.fingerprint());
        if (typed) {
            m.put("type", k.type().apiName());
        }
        return m;
    }

    /**
     * Nova's keypair name: from 2.1 letters, digits, '_', '-' and spaces, not at either end; v2.0
     * took any printable name and stripped the spaces around it.
     */
    private static String name(JsonNode k, boolean legacy) {
        JsonNode n = k.get("name");
        if (n == null || !n.isTextual()) {
            throw ApiException.badRequest("'name' is required and must be a string");
        }
        String name = n.asText();
        if (legacy) {
            name = name.strip();
            if (name.isEmpty() || name.length() > 255 || !name.chars().allMatch(c -> c >= 0x20 && c != 0x7F)) {
                throw ApiException.badRequest("'name' must be 1 to 255 printable characters");
            }
            return name;
        }
        if (!NAME.matcher(name).matches() || name.startsWith(" ") || name.endsWith(" ")) {
            throw ApiException.badRequest("Invalid input for field/attribute name: a keypair name is 1 to 255 of the"
                    + " characters [_- 0-9a-zA-Z] and does not start or end with a space, not '" + name + "'");
        }
        return name;
    }

    private static void refuseOtherFields(JsonNode object, Set<String> allowed, String where) {
        for (Iterator<String> it = object.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw ApiException.badRequest("Additional properties are not allowed ('" + f + "' was unexpected) in "
                        + where + "; it takes " + List.copyOf(allowed));
            }
        }
    }

    private void checkQuota(Caller caller, int more) {
        if (overQuota(caller, more)) {
            throw ApiException.forbidden("Quota exceeded, too many key pairs.");
        }
    }

    /** Nova counts a user's keypairs against its project's key_pairs limit. */
    private boolean overQuota(Caller caller, int more) {
        long limit = quotas.limits(caller.projectId()).getOrDefault("key_pairs", -1L);
        return limit >= 0 && keypairs.count(caller.userId()) + more > limit;
    }
}
