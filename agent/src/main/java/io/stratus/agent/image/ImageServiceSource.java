package io.stratus.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The image service's Image API v2: image records by id and their data, streamed. Calls carry
 * the agent's service token; a refused token is renewed once.
 */
public final class ImageServiceSource implements ImageSource {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final String url;
    private final ServiceLogin login;

    /** @param url the Image API's root, such as {@code http://images:9292/image} */
    public ImageServiceSource(HttpClient http, String url, ServiceLogin login) {
        this.http = http;
        this.url = url.replaceAll("/+$", "");
        this.login = login;
    }

    @Override
    public ImageInfo describe(String id) {
        HttpResponse<InputStream> r = get(id, "");
        try (InputStream body = r.body()) {
            expectFound(id, r.statusCode());
            JsonNode image = JSON.readTree(body.readNBytes(1 << 20));
            if (!image.path("status").asText().equals("active")) {
                throw new ImageException("ImageNotActive", "image " + id + " is " + image.path("status").asText()
                        + ", not active: its data is not (all) uploaded");
            }
            return new ImageInfo(id, image.path("os_hash_value").asText(), image.path("size").asLong(),
                    image.path("disk_format").asText("raw"));
        } catch (IOException e) {
            throw unavailable(e);
        }
    }

    @Override
    public InputStream open(String id) throws IOException {
        HttpResponse<InputStream> r = get(id, "/file");
        if (r.statusCode() != 200) {
            r.body().close();
            expectFound(id, r.statusCode());
            throw new ImageException("ImageNotActive", "image " + id + " has no data to download (HTTP "
                    + r.statusCode() + ")");
        }
        return r.body();
    }

    /** {@code PUT /v2/images/{id}/file}: the image service takes it from the agent's service user. */
    @Override
    public void upload(String id, Path file) throws IOException {
        URI uri = URI.create(url + "/v2/images/" + id + "/file");
        try {
            for (int attempt = 0; ; attempt++) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(30))
                        .header("X-Auth-Token", login.token()).header("Content-Type", "application/octet-stream")
                        .PUT(HttpRequest.BodyPublishers.ofFile(file)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 401 && attempt == 0) {
                    login.invalidate();
                    continue;
                }
                if (r.statusCode() == 404) {
                    throw new ImageException("ImageNotFound", "image " + id + " is not in " + describeSelf()
                            + " (deleted meanwhile?)");
                }
                if (r.statusCode() >= 300) {
                    throw new ImageException("ImageUploadFailed", describeSelf() + " refused the data of image " + id
                            + " (HTTP " + r.statusCode() + "): " + r.body().strip());
                }
                return;
            }
        } catch (IOException e) {
            throw new ImageException("ImageUploadFailed", describeSelf() + " does not answer: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageException("ImageUploadFailed", "interrupted while uploading image " + id);
        }
    }

    @Override
    public String describeSelf() {
        return "the image service at " + url;
    }

    private HttpResponse<InputStream> get(String id, String suffix) {
        URI uri = URI.create(url + "/v2/images/" + id + suffix);
        try {
            for (int attempt = 0; ; attempt++) {
                HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(10))
                        .header("X-Auth-Token", login.token()).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
                if (r.statusCode() != 401 || attempt > 0) {
                    return r;
                }
                r.body().close();
                login.invalidate();
            }
        } catch (IOException e) {
            throw unavailable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageException("ImageUnavailable", "interrupted while fetching image " + id);
        }
    }

    private void expectFound(String id, int status) {
        if (status == 404) {
            throw new ImageException("ImageNotFound", "image " + id + " is not in " + describeSelf());
        }
        if (status == 401 || status == 403) {
            throw new ImageException("ImageUnavailable", describeSelf() + " refused the agent's token (HTTP "
                    + status + ") for image " + id);
        }
        if (status >= 300) {
            throw new ImageException("ImageUnavailable", describeSelf() + " answered HTTP " + status + " for image "
                    + id);
        }
    }

    private ImageException unavailable(IOException e) {
        return new ImageException("ImageUnavailable", describeSelf() + " does not answer: " + e.getMessage());
    }
}
