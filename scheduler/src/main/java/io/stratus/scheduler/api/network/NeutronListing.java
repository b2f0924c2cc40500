package io.stratus.scheduler.api.network;

import io.stratus.api.ApiException;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.UriBuilder;
import jakarta.ws.rs.core.UriInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Neutron's query parameters over a collection's rendered resources: any attribute as a filter
 * (repeated: any of the values), {@code fields}, {@code sort_key}/{@code sort_dir}, and
 * {@code limit}/{@code marker} paging with {@code <collection>_links}. Filters compare attributes
 * as their JSON text; a list attribute matches when one of its elements does.
 */
final class NeutronListing {
    private static final Set<String> CONTROLS = Set.of("fields", "sort_key", "sort_dir", "limit", "marker",
            "page_reverse", "verbose");

    private NeutronListing() {
    }

    static Map<String, Object> list(String collection, List<Map<String, Object>> rows, UriInfo uri) {
        MultivaluedMap<String, String> q = uri.getQueryParameters();
        List<Map<String, Object>> kept = new ArrayList<>();
        for (Map<String, Object> row : rows) {
            if (matches(row, q)) {
                kept.add(row);
            }
        }
        sort(kept, q);
        Map<String, Object> out = new LinkedHashMap<>();
        List<Map<String, Object>> page = page(collection, kept, q, uri, out);
        out.put(collection, page.stream().map(r -> fields(r, q)).toList());
        return out;
    }

    /** One resource, narrowed to the {@code fields} asked for. */
    static Map<String, Object> fields(Map<String, Object> row, UriInfo uri) {
        return fields(row, uri.getQueryParameters());
    }

    private static Map<String, Object> fields(Map<String, Object> row, MultivaluedMap<String, String> q) {
        List<String> fields = q.get("fields");
        if (fields == null || fields.isEmpty()) {
            return row;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (String f : fields) {
            for (String name : f.split(",")) {
                if (row.containsKey(name)) {
                    out.put(name, row.get(name));
                }
            }
        }
        return out;
    }

    private static boolean matches(Map<String, Object> row, MultivaluedMap<String, String> q) {
        for (Map.Entry<String, List<String>> filter : q.entrySet()) {
            String key = filter.getKey();
            if (CONTROLS.contains(key) || !row.containsKey(key)) {
                continue;
            }
            Object value = row.get(key);
            if (filter.getValue().stream().noneMatch(wanted -> matches(value, wanted))) {
                return false;
            }
        }
        return true;
    }

    private static boolean matches(Object value, String wanted) {
        if (value instanceof List<?> list) {
            return list.stream().anyMatch(e -> matches(e, wanted));
        }
        if (value instanceof Map<?, ?> map) {
            // Neutron's fixed_ips=ip_address=10.0.0.3 and fixed_ips=subnet_id=...
            int eq = wanted.indexOf('=');
            return eq > 0 && String.valueOf(map.get(wanted.substring(0, eq))).equals(wanted.substring(eq + 1));
        }
        if (value instanceof Boolean b) {
            return wanted.equalsIgnoreCase(b.toString());
        }
        if (value == null) {
            return wanted.isEmpty() || wanted.equals("None");
        }
        return String.valueOf(value).equals(wanted);
    }

    private static void sort(List<Map<String, Object>> rows, MultivaluedMap<String, String> q) {
        List<String> keys = q.getOrDefault("sort_key", List.of());
        List<String> dirs = q.getOrDefault("sort_dir", List.of());
        if (keys.size() < dirs.size()) {
            throw ApiException.badRequest("The number of sort_keys and sort_dirs must be same");
        }
        Comparator<Map<String, Object>> order = null;
        for (int i = 0; i < keys.size(); i++) {
            String key = keys.get(i);
            String dir = i < dirs.size() ? dirs.get(i) : "asc";
            if (!dir.equals("asc") && !dir.equals("desc")) {
                throw ApiException.badRequest("Unknown sort direction '" + dir + "', must be 'desc' or 'asc'");
            }
            Comparator<Map<String, Object>> c = Comparator.comparing(r -> comparable(r.get(key)),
                    Comparator.nullsFirst(Comparator.naturalOrder()));
            c = dir.equals("desc") ? c.reversed() : c;
            order = order == null ? c : order.thenComparing(c);
        }
        if (order != null) {
            rows.sort(order.thenComparing(r -> String.valueOf(r.get("id"))));
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Comparable comparable(Object v) {
        return v instanceof Comparable c ? c : v == null ? null : String.valueOf(v);
    }

    private static List<Map<String, Object>> page(String collection, List<Map<String, Object>> rows,
                                                  MultivaluedMap<String, String> q, UriInfo uri,
                                                  Map<String, Object> out) {
        String marker = q.getFirst("marker");
        boolean reverse = "true".equalsIgnoreCase(q.getFirst("page_reverse"));
        List<Map<String, Object>> ordered = new ArrayList<>(rows);
        if (reverse) {
            java.util.Collections.reverse(ordered);
        }
        int from = 0;
        if (marker != null) {
            for (int i = 0; i < ordered.size(); i++) {
                if (marker.equals(ordered.get(i).get("id"))) {
                    from = i + 1;
                }
            }
        }
        String limitText = q.getFirst("limit");
        int limit = ordered.size();
        if (limitText != null) {
            if (!limitText.matches("-?[0-9]{1,9}")) {
                throw ApiException.badRequest("Limit must be an integer 0 or greater and not '" + limitText + "'");
            }
            limit = Integer.parseInt(limitText);
            if (limit < 0) {
                throw ApiException.badRequest("Limit must be an integer 0 or greater and not '" + limitText + "'");
            }
            if (limit == 0) {
                limit = ordered.size();
            }
        }
        int to = Math.min(ordered.size(), from + limit);
        List<Map<String, Object>> page = new ArrayList<>(ordered.subList(Math.min(from, to), to));
        if (limitText != null) {
            List<Map<String, String>> links = new ArrayList<>();
            if (to < ordered.size() && !page.isEmpty()) {
                links.add(link(uri, reverse ? "previous" : "next", page.get(page.size() - 1), reverse));
            }
            if (marker != null && !page.isEmpty()) {
                links.add(link(uri, reverse ? "next" : "previous", page.get(0), !reverse));
            }
            if (!links.isEmpty()) {
                out.put(collection + "_links", links);
            }
        }
        if (reverse) {
            java.util.Collections.reverse(page);
        }
        return page;
    }

    private static Map<String, String> link(UriInfo uri, String rel, Map<String, Object> at, boolean reverse) {
        UriBuilder b = uri.getRequestUriBuilder().replaceQueryParam("marker", at.get("id"))
                .replaceQueryParam("page_reverse");
        if (reverse) {
            b.replaceQueryParam("page_reverse", "True");
        }
        return Map.of("rel", rel, "href", b.build().toString());
    }
}
