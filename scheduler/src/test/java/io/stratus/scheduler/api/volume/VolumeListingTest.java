package io.stratus.scheduler.api.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.scheduler.volume.VolumeException;
import jakarta.ws.rs.core.MultivaluedHashMap;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.UriBuilder;
import jakarta.ws.rs.core.UriInfo;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Cinder's list parameters over rendered volumes. */
class VolumeListingTest {
    private static final Set<String> FILTERS = Set.of("name", "status", "metadata", "size");
    private static final List<Map<String, Object>> ROWS = List.of(
            Map.of("id", "a", "name", "one", "status", "available", "size", 10, "created_at", "2026-01-01T00:00:01",
                    "metadata", Map.of("Type", "work")),
            Map.of("id", "b", "name", "two", "status", "in-use", "size", 2, "created_at", "2026-01-01T00:00:02",
                    "metadata", Map.of("Type", "work", "k", "v")),
            Map.of("id", "c", "name", "three", "status", "available", "size", 1, "created_at", "2026-01-01T00:00:03",
                    "metadata", Map.of()));

    private static UriInfo uri(String query) {
        MultivaluedMap<String, String> q = new MultivaluedHashMap<>();
        for (String pair : query.isEmpty() ? new String[0] : query.split("&")) {
            String[] kv = pair.split("=", 2);
            q.add(kv[0], URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
        }
        return (UriInfo) Proxy.newProxyInstance(UriInfo.class.getClassLoader(), new Class<?>[] {UriInfo.class},
                (p, m, args) -> switch (m.getName()) {
                    case "getQueryParameters" -> q;
                    case "getRequestUriBuilder" -> UriBuilder.fromUri(URI.create("http://x/volume/v3/volumes?"
                            + query));
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    private static Map<String, Object> list(String query) {
        return VolumeListing.list("volumes", ROWS, FILTERS, Function.identity(), uri(query));
    }

    @SuppressWarnings("unchecked")
    private static List<String> ids(Map<String, Object> listed) {
        return ((List<Map<String, Object>>) listed.get("volumes")).stream().map(r -> (String) r.get("id")).toList();
    }

    @Test
    void newestFirstUnlessASortIsGiven() {
        assertThat(ids(list(""))).containsExactly("c", "b", "a");
        assertThat(ids(list("sort=size:asc"))).as("sizes compare as numbers").containsExactly("c", "b", "a");
        assertThat(ids(list("sort_key=name&sort_dir=asc"))).containsExactly("a", "c", "b");
        assertThatThrownBy(() -> list("sort=name:sideways")).isInstanceOf(VolumeException.class);
    }

    @Test
    void filtersByAllowedAttributesAndByMetadataAsClientsSendIt() {
        assertThat(ids(list("status=available"))).containsExactly("c", "a");
        assertThat(ids(list("status=available&name=one"))).containsExactly("a");
        assertThat(ids(list("status=bogus"))).as("an unknown status matches nothing").isEmpty();
        assertThat(ids(list("metadata=%7B%27Type%27%3A+%27work%27%7D"))).containsExactly("b", "a");
        assertThat(ids(list("metadata=%7B%27Type%27%3A+%27work%27%2C+%27k%27%3A+%27v%27%7D"))).containsExactly("b");
        assertThat(ids(list("volume_type=gold"))).as("filters outside Cinder's list are ignored").hasSize(3);
    }

    @Test
    void pagesLinkTheNextWheneverAPageIsFull() {
        Map<String, Object> first = list("sort=name:asc&limit=2");
        assertThat(ids(first)).containsExactly("a", "c");
        assertThat(first.get("volumes_links")).asList().singleElement().asString().contains("rel=next")
                .contains("marker=c").contains("limit=2");
        Map<String, Object> second = list("sort=name:asc&limit=2&marker=c");
        assertThat(ids(second)).containsExactly("b");
        assertThat(second).doesNotContainKey("volumes_links");
        Map<String, Object> full = list("sort=name:asc&limit=1&marker=c");
        assertThat(ids(full)).containsExactly("b");
        assertThat(full).as("a full last page still links (to an empty one)").containsKey("volumes_links");
        assertThat(ids(list("sort=name:asc&limit=1&marker=b"))).isEmpty();
        assertThatThrownBy(() -> list("marker=nope")).hasMessageContaining("marker");
        assertThatThrownBy(() -> list("limit=-1")).hasMessageContaining("limit");
    }
}
