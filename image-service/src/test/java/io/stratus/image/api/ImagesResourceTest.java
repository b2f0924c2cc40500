package io.stratus.image.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.api.ApiException;
import io.stratus.api.auth.Caller;
import io.stratus.database.Database;
import io.stratus.image.catalog.CatalogException;
import io.stratus.image.catalog.ImageCatalog;
import io.stratus.image.catalog.ImageSchema;
import io.stratus.image.store.ImageStore;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.MultivaluedHashMap;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The images API on its real catalog and store (H2), called as a project member's requests. */
class ImagesResourceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String V21 = "application/openstack-images-v2.1-json-patch";
    private final Caller member = new Caller("u-1", "p-1", Set.of("member"), Instant.now().plusSeconds(3600));
    private final MultivaluedMap<String, String> query = new MultivaluedHashMap<>();
    private String path = "/image/v2/images";
    private Database db;
    private ImagesResource images;
    private ImageTagsResource tags;

    @BeforeEach
    void start() {
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        ImageStore store = new ImageStore(db.dataSource(), Clock.systemUTC());
        ImageCatalog catalog = new ImageCatalog(store, ImageSchema.glance(), Clock.systemUTC());
        UriInfo uri = (UriInfo) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {UriInfo.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getQueryParameters" -> query;
                    case "getPath" -> path;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        ContainerRequestContext request = (ContainerRequestContext) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {ContainerRequestContext.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getProperty" -> member;
                    case "getUriInfo" -> uri;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        images = new ImagesResource();
        images.catalog = catalog;
        images.images = store;
        images.request = request;
        tags = new ImageTagsResource();
        tags.catalog = catalog;
        tags.request = request;
    }

    @AfterEach
    void stop() {
        db.close();
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> create(String json) throws Exception {
        Response r = images.create(JSON.readTree(json));
        assertThat(r.getStatus()).isEqualTo(201);
        return (Map<String, Object>) r.getEntity();
    }

    @Test
    void aPatchInEitherMediaTypeChangesTheImageAndAnyOtherBodyIs415() throws Exception {
        String id = (String) create("{\"name\": \"before\", \"tags\": [\"t\"]}").get("id");
        Response r = images.update(id, V21, "[{\"op\": \"replace\", \"path\": \"/name\", \"value\": \"after\"},"
                + " {\"op\": \"add\", \"path\": \"/os_distro\", \"value\": \"debian\"}]");
        assertThat(r.getStatus()).isEqualTo(200);
        assertThat((Map<String, Object>) r.getEntity()).containsEntry("name", "after")
                .containsEntry("os_distro", "debian").containsEntry("tags", List.of("t"));
        r = images.update(id, "application/openstack-images-v2.0-json-patch", "[{\"remove\": \"/os_distro\"}]");
        assertThat((Map<String, Object>) r.getEntity()).doesNotContainKey("os_distro");

        r = images.update(id, "application/json", "[]");
        assertThat(r.getStatus()).isEqualTo(415);
        assertThat(r.getHeaderString("Accept-Patch")).isEqualTo("application/openstack-images-v2.0-json-patch,"
                + " application/openstack-images-v2.1-json-patch");
        assertThatThrownBy(() -> images.update(id, V21, "[{\"op\": \"replace\", \"path\": \"/status\", \"value\":"
                + " \"active\"}]")).isInstanceOfSatisfying(CatalogException.class,
                e -> assertThat(CatalogExceptionMapper.status(e.reason())).isEqualTo(403));
        assertThat(images.show(id)).containsEntry("name", "after").containsEntry("status", "queued");
    }

    @Test
    void tagsArePutAndDeletedWith204() throws Exception {
        String id = (String) create("{\"name\": \"tagged\"}").get("id");
        assertThat(tags.add(id, "blue").getStatus()).isEqualTo(204);
        assertThat(images.show(id)).containsEntry("tags", List.of("blue"));
        assertThat(tags.remove(id, "blue").getStatus()).isEqualTo(204);
        assertThat(images.show(id)).containsEntry("tags", List.of());
        assertThatThrownBy(() -> tags.remove(id, "blue")).isInstanceOfSatisfying(CatalogException.class,
                e -> assertThat(CatalogExceptionMapper.status(e.reason())).isEqualTo(404));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aListingLinksItsFirstAndNextPages() throws Exception {
        for (String n : List.of("a", "b", "c")) {
            create("{\"name\": \"" + n + "\", \"disk_format\": \"qcow2\"}");
        }
        query.add("sort", "name:asc");
        query.add("disk_format", "qcow2");
        query.add("limit", "2");
        Map<String, Object> page = images.list();
        List<Map<String, Object>> listed = (List<Map<String, Object>>) page.get("images");
        assertThat(listed).extracting(i -> i.get("name")).containsExactly("a", "b");
        assertThat(page.get("first")).isEqualTo("/v2/images?disk_format=qcow2&limit=2&sort=name%3Aasc");
        assertThat(page.get("next")).isEqualTo("/v2/images?disk_format=qcow2&limit=2&sort=name%3Aasc&marker="
                + listed.get(1).get("id"));
        assertThat(page.get("schema")).isEqualTo("/v2/schemas/images");
        query.putSingle("marker", (String) listed.get(1).get("id"));
        page = images.list();
        assertThat((List<Map<String, Object>>) page.get("images")).extracting(i -> i.get("name"))
                .containsExactly("c");
        assertThat(page).doesNotContainKey("next");
    }

    @Test
    void anEmptyImageIdIsNoResource() {
        ContainerRequestContext request = images.request;
        path = "/image/v2/images/";
        assertThatThrownBy(() -> new EmptyImageIdFilter().filter(request)).isInstanceOfSatisfying(ApiException.class,
                e -> assertThat(e.status()).isEqualTo(404));
        path = "/image/v2/images";
        new EmptyImageIdFilter().filter(request);
    }
}
