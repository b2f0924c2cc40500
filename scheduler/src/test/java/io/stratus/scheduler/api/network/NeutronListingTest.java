package io.stratus.scheduler.api.network;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.ws.rs.core.MultivaluedHashMap;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.UriBuilder;
import jakarta.ws.rs.core.UriInfo;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Neutron's filters, fields, sorting and paging over rendered resources. */
class NeutronListingTest {
    private static final List<Map<String, Object>> ROWS = List.of(
            Map.of("id", "a", "name", "one", "shared", true, "security_groups", List.of("g1", "g2"),
                    "fixed_ips", List.of(Map.of("ip_address", "10.0.0.3", "subnet_id", "s1"))),
            Map.of("id", "b", "name", "two", "shared", false, "security_groups", List.of("g2"),
                    "fixed_ips", List.of(Map.of("ip_address", "10.0.0.4", "subnet_id", "s1"))),
            Map.of("id", "c", "name", "three", "shared", false, "security_groups", List.of(),
                    "fixed_ips", List.of()));

    private static UriInfo uri(String query) {
        MultivaluedMap<String, String> q = new MultivaluedHashMap<>();
        for (String pair : query.isEmpty() ? new String[0] : query.split("&")) {
            String[] kv = pair.split("=", 2);
            q.add(kv[0], kv[1]);
        }
        return (UriInfo) Proxy.newProxyInstance(UriInfo.class.getClassLoader(), new Class<?>[] {UriInfo.class},
                (p, m, args) -> switch (m.getName()) {
                    case "getQueryParameters" -> q;
                    case "getRequestUriBuilder" -> UriBuilder.fromUri(URI.create("http://x/network/v2.0/ports?"
                            + query));
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    @SuppressWarnings("unchecked")
    private static List<String> ids(Map<String, Object> listed) {
        return ((List<Map<String, Object>>) listed.get("ports")).stream().map(r -> (String) r.get("id")).toList();
    }

    @Test
    void filtersByAnyAttributeAndRepeatedValuesMeanAnyOfThem() {
        assertThat(ids(NeutronListing.list("ports", ROWS, uri("shared=True")))).containsExactly("a");
        assertThat(ids(NeutronListing.list("ports", ROWS, uri("name=one&name=three")))).containsExactly("a", "c");
        assertThat(ids(NeutronListing.list("ports", ROWS, uri("security_groups=g2")))).containsExactly("a", "b");
        assertThat(ids(NeutronListing.list("ports", ROWS, uri("fixed_ips=ip_address=10.0.0.4"))))
                .containsExactly("b");
    }

    @Test
    void sortsPagesAndNarrowsToFields() {
        Map<String, Object> first = NeutronListing.list("ports", ROWS, uri("sort_key=name&sort_dir=desc&limit=2"));
        assertThat(ids(first)).containsExactly("b", "c");
        assertThat(first.get("ports_links")).asList().singleElement().asString().contains("rel=next")
                .contains("marker=c");
        Map<String, Object> second = NeutronListing.list("ports", ROWS,
                uri("sort_key=name&sort_dir=desc&limit=2&marker=c"));
        assertThat(ids(second)).containsExactly("a");
        assertThat(second.get("ports_links")).asList().singleElement().asString().contains("rel=previous");
        Map<String, Object> narrowed = NeutronListing.list("ports", ROWS, uri("fields=id&fields=name"));
        assertThat((List<?>) narrowed.get("ports")).first().isEqualTo(Map.of("id", "a", "name", "one"));
    }
}
