package io.stratus.agent.metadata;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The control plane's metadata API as far as the agent sees it, on loopback: it checks the
 * signature (403), that the tenant is the instance's (404), and answers per instance
 * ({@code openstack/latest/meta_data.json}, {@code latest/meta-data/instance-id}, a password POST,
 * {@code config-drive}). The real API is tested end to end elsewhere.
 */
public final class StandInControlPlane implements AutoCloseable {
    /** One request as it arrived. */
    public record Seen(String method, String path, Map<String, List<String>> headers, String body) {
    }

    private final HttpServer server;
    private final byte[] secret;
    private final Map<String, String> projects;
    private final Map<String, String> driveListings = new ConcurrentHashMap<>();
    private final Map<String, String> passwords = new ConcurrentHashMap<>();
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final AtomicInteger requests = new AtomicInteger();

    /** @param projects each instance's project */
    public StandInControlPlane(String secret, Map<String, String> projects) throws IOException {
        this.secret = secret.getBytes(StandardCharsets.UTF_8);
        this.projects = Map.copyOf(projects);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.createContext("/metadata/", this::handle);
        server.start();
    }

    public URI root() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/metadata");
    }

    /** What {@code config-drive} answers for {@code instance} (JSON); unset: 404. */
    public void driveListing(String instance, String json) {
        driveListings.put(instance, json);
    }

    public int requests() {
        return requests.get();
    }

    public List<Seen> seen() {
        return List.copyOf(seen);
    }

    public Map<String, String> passwords() {
        return Map.copyOf(passwords);
    }

    private void handle(HttpExchange x) throws IOException {
        requests.incrementAndGet();
        String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        String path = x.getRequestURI().getRawPath().substring("/metadata/".length());
        seen.add(new Seen(x.getRequestMethod(), path, Map.copyOf(x.getRequestHeaders()), body));
        String instance = x.getRequestHeaders().getFirst("X-Instance-ID");
        String tenant = x.getRequestHeaders().getFirst("X-Tenant-ID");
        String signature = x.getRequestHeaders().getFirst("X-Instance-ID-Signature");
        if (instance == null || tenant == null || signature == null) {
            send(x, 400, "text/plain", "missing headers");
        } else if (!MessageDigest.isEqual(sign(instance).getBytes(StandardCharsets.UTF_8),
                signature.getBytes(StandardCharsets.UTF_8))) {
            send(x, 403, "text/plain", "Invalid proxy request signature.");
        } else if (!tenant.equals(projects.get(instance))) {
            send(x, 404, "text/plain", "no such instance");
        } else if (path.equals("openstack/latest/meta_data.json") && x.getRequestMethod().equals("GET")) {
            send(x, 200, "application/json", "{\"uuid\": \"" + instance + "\", \"project_id\": \"" + tenant + "\"}");
        } else if (path.equals("latest/meta-data/instance-id")) {
            send(x, 200, "text/plain", instance);
        } else if (path.equals("openstack/latest/password") && x.getRequestMethod().equals("POST")) {
            passwords.put(instance, body);
            send(x, 200, "text/plain", "");
        } else if (path.equals("config-drive") && driveListings.containsKey(instance)) {
            send(x, 200, "application/json", driveListings.get(instance));
        } else {
            send(x, 404, "text/plain", "not found");
        }
    }

    private String sign(String instance) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(instance.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void send(HttpExchange x, int status, String type, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", type);
        x.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
