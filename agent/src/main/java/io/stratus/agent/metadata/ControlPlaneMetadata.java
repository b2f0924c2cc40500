package io.stratus.agent.metadata;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The control plane's metadata API, asked on an instance's behalf as Neutron's metadata agent asks
 * Nova's: the instance and its project named in headers, the instance id signed with the secret
 * both sides share ({@code X-Instance-ID-Signature}: hex HMAC-SHA256), so that only a proxy that
 * knows the secret can speak for an instance.
 */
public final class ControlPlaneMetadata {
    /** Metadata paths: what Nova's and EC2's layouts use, and nothing that could leave the API's root. */
    private static final Pattern PATH = Pattern.compile("[A-Za-z0-9_.~/-]*");
    /** The largest answer taken (a config drive's listing is the largest: base64 of every file). */
    static final int MAX_ANSWER = 16 << 20;

    private final HttpClient http;
    private final URI root;
    private final SecretKeySpec key;
    private final Duration timeout;

    /**
     * @param root    the API's root, such as {@code http://10.0.0.1:8775/metadata}
     * @param secret  the shared secret (Nova's {@code metadata_proxy_shared_secret})
     * @param timeout how long one request may take, answer included
     */
    public ControlPlaneMetadata(HttpClient http, URI root, String secret, Duration timeout) {
        this.http = http;
        String r = root.toString();
        this.root = URI.create(r.endsWith("/") ? r : r + "/");
        if (!this.root.getScheme().matches("https?")) {
            throw new IllegalArgumentException("the metadata API's root " + root + " is not an http(s) URL");
        }
        if (secret.isEmpty()) {
            throw new IllegalArgumentException("the metadata shared secret is empty");
        }
        this.key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
        this.timeout = timeout;
    }

    /** Whom a request is for: the instance and project the proxy found, and the guest's address if it asked itself. */
    public record Caller(String instanceId, String projectId, Optional<String> guestAddress) {
        public Caller {
            Objects.requireNonNull(instanceId, "instanceId");
            Objects.requireNonNull(projectId, "projectId");
            Objects.requireNonNull(guestAddress, "guestAddress");
        }
    }

    /** What the control plane answered. */
    public record Answer(int status, String contentType, byte[] body) {
        public Answer {
            Objects.requireNonNull(contentType, "contentType");
            Objects.requireNonNull(body, "body");
        }

        static Answer text(int status, String text) {
            return new Answer(status, "text/plain; charset=UTF-8", (text + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The control plane could not be asked: unreachable, too slow, or its answer too large. */
    public static final class UnavailableException extends Exception {
        UnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * {@code method} (GET or POST) on {@code path} below the API's root for {@code caller}.
     *
     * @param path relative, as {@link #isPath} allows
     */
    public Answer request(String method, String path, byte[] body, Caller caller) throws UnavailableException {
        if (!isPath(path) || !method.equals("GET") && !method.equals("POST")) {
            throw new IllegalArgumentException(method + " " + path + " is not a metadata request");
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(root.resolve(path)).timeout(timeout)
                .header("X-Instance-ID", caller.instanceId())
                .header("X-Tenant-ID", caller.projectId())
                .header("X-Instance-ID-Signature", sign(caller.instanceId()));
        caller.guestAddress().ifPresent(a -> b.header("X-Forwarded-For", a));
        b.method(method, method.equals("GET") ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(body));
        try {
            HttpResponse<InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                byte[] bytes = in.readNBytes(MAX_ANSWER + 1);
                if (bytes.length > MAX_ANSWER) {
                    throw new UnavailableException("the metadata API answered " + path + " with more than "
                            + MAX_ANSWER + " bytes", null);
                }
                return new Answer(r.statusCode(), r.headers().firstValue("Content-Type").orElse("text/plain"), bytes);
            }
        } catch (IOException e) {
            throw new UnavailableException("the metadata API at " + root + " did not answer " + path + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException("interrupted asking the metadata API for " + path, e);
        }
    }

    /** Whether {@code path} may be asked for: relative, made of plain segments, none of them {@code .} or {@code ..}. */
    public static boolean isPath(String path) {
        if (path.length() > 1024 || !PATH.matcher(path).matches() || path.startsWith("/") || path.contains("//")) {
            return false;
        }
        for (String segment : path.split("/")) {
            if (segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
    }

    /** Hex HMAC-SHA256 of {@code instanceId} with the shared secret (Nova's {@code _validate_shared_secret}). */
    String sign(String instanceId) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return HexFormat.of().formatHex(mac.doFinal(instanceId.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            // Every JDK has HmacSHA256, and any non-empty key suits it.
            throw new IllegalStateException("HmacSHA256: " + e, e);
        }
    }

    @Override
    public String toString() {
        return root.toString();
    }
}
