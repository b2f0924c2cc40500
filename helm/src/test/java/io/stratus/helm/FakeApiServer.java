package io.stratus.helm;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The few Kubernetes API calls the chart's {@code lookup} makes, answered in this JVM. helm-java's
 * {@code template} renders against the cluster that {@code KUBECONFIG} names (surefire points it at
 * {@code target/kubeconfig}, written here), unlike {@code helm template} on the command line: this
 * server says which Secrets exist, so the tests can also render an upgrade of a release whose
 * Secrets are there.
 */
final class FakeApiServer {
    private static final Pattern SECRET = Pattern.compile("/api/v1/namespaces/([^/]+)/secrets/([^/?]+)");
    private static final Map<String, String> SECRETS = new ConcurrentHashMap<>();
    private static HttpServer server;

    private FakeApiServer() {
    }

    /** Starts the server once and writes the kubeconfig that names it. */
    static synchronized void start() {
        if (server != null) {
            return;
        }
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
            server.createContext("/", FakeApiServer::handle);
            server.setExecutor(null);
            server.start();
            String kubeconfig = System.getenv("KUBECONFIG");
            if (kubeconfig == null) {
                throw new IllegalStateException("KUBECONFIG is not set (surefire sets it to target/kubeconfig)");
            }
            Files.writeString(Path.of(kubeconfig), """
                    apiVersion: v1
                    kind: Config
                    clusters:
                      - name: fake
                        cluster:
                          server: http://127.0.0.1:%d
                    contexts:
                      - name: fake
                        context:
                          cluster: fake
                          user: fake
                    current-context: fake
                    users:
                      - name: fake
                        user: {}
                    """.formatted(server.getAddress().getPort()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** From now on, a Secret {@code name} in {@code namespace} with these base64 data exists. */
    static void putSecret(String namespace, String name, Map<String, String> data) {
        StringBuilder d = new StringBuilder();
        data.forEach((k, v) -> d.append(d.length() == 0 ? "" : ",").append('"').append(k).append("\":\"").append(v)
                .append('"'));
        SECRETS.put(namespace + "/" + name, """
                {"kind":"Secret","apiVersion":"v1","metadata":{"name":"%s","namespace":"%s"},"type":"Opaque","data":{%s}}"""
                .formatted(name, namespace, d));
    }

    static void clear() {
        SECRETS.clear();
    }

    private static void handle(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        Matcher secret = SECRET.matcher(path);
        if (path.equals("/version")) {
            reply(x, 200, "{\"major\":\"1\",\"minor\":\"31\",\"gitVersion\":\"v1.31.0\"}");
        } else if (path.equals("/api")) {
            reply(x, 200, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":[]}");
        } else if (path.equals("/apis")) {
            reply(x, 200, "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[]}");
        } else if (path.equals("/api/v1")) {
            reply(x, 200, "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":[{\"name\":\"secrets\","
                    + "\"singularName\":\"secret\",\"namespaced\":true,\"kind\":\"Secret\",\"verbs\":[\"get\",\"list\"]}]}");
        } else if (secret.matches() && SECRETS.containsKey(secret.group(1) + "/" + secret.group(2))) {
            reply(x, 200, SECRETS.get(secret.group(1) + "/" + secret.group(2)));
        } else {
            reply(x, 404, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"NotFound\","
                    + "\"code\":404,\"message\":\"" + path + " not found\"}");
        }
    }

    private static void reply(HttpExchange x, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", "application/json");
        x.sendResponseHeaders(status, body.length);
        try (var out = x.getResponseBody()) {
            out.write(body);
        }
    }
}
