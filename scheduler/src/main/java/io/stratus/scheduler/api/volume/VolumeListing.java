package io.stratus.scheduler.api.volume;

import io.stratus.scheduler.volume.VolumeException;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.UriInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cinder's list parameters over rendered resources: filters by the attributes it allows
 * ({@code name}, {@code status}, {@code metadata} as a Python dict's text, ...), {@code sort}
 * ({@code key:dir,...}) or {@code sort_key}/{@code sort_dir}, {@code limit}, {@code marker} and
 * {@code offset}, with a {@code next} link after every full page.
 */
final class VolumeListing {
    private static final Set<String> CONTROLS = Set.of("sort", "sort_key", "sort_dir", "limit", "marker", "offset",
            "all_tenants", "with_count", "project_id");
    /** {@code 'key': 'value'} pairs of a Python dict's text, which is how clients send a metadata filter. */
    private static final Pattern PAIR = Pattern.compile("['\"]([^'\"]*)['\"]\\s*:\\s*['\"]([^'\"]*)['\"]");

    private VolumeListing() {
    }

    /**
     * @param filters the attributes filters may name (others are ignored, as Cinder does for
     *                keys outside its resource_filters)
     * @param full    each row in full, which filters and sorting read
     * @param shown   how a row appears in the answer (the summary or the detail)
     */
    static Map<String, Object> list(String collection, List<Map<String, Object>> full, Set<String> filters,
                                    java.util.function.Function<Map<String, Object>, Map<String, Object>> shown,
                                    UriInfo uri) {
        MultivaluedMap<String, String> q = uri.getQueryParameters();
        List<Map<String, Object>> kept = new ArrayList<>();
        for (Map<String, Object> row : full) {
            if (matches(row, q, filters)) {
                kept.add(row);
            }
        }
        kept.sort(order(q));
        int start = 0;
        String marker = q.getFirst("marker");
        if (marker != null) {
            start = -1;
            for (int i = 0; i < kept.size(); i++) {
                if (marker.equals(kept.get(i).get("id"))) {
                    start = i + 1;
                }
            }
            if (start < 0) {
                throw VolumeException.invalid("Invalid input received: marker " + marker + " could not be found.");
            }
        }
        start += nonNegative(q.getFirst("offset"), "offset", 0);
        int limit = nonNegative(q.getFirst("limit"), "limit", Integer.MAX_VALUE);
        List<Map<String, Object>> page = kept.subList(Math.min(start, kept.size()),
                (int) Math.min(kept.size(), (long) start + limit));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put(collection, page.stream().map(shown).toList());
        // Cinder links a next page whenever a page is full, even when nothing follows (the next is then empty).
        if (q.getFirst("limit") != null && !page.isEmpty() && page.size() == limit) {
            String next = uri.getRequestUriBuilder().replaceQueryParam("marker", page.get(page.size() - 1).get("id"))
                    .replaceQueryParam("offset").build().toString();
            out.put(collection + "_links", List.of(Map.of("href", next, "rel", "next")));
        }
        return out;
    }

    private static boolean matches(Map<String, Object> row, MultivaluedMap<String, String> q, Set<String> filters) {
        for (Map.Entry<String, List<String>> f : q.entrySet()) {
            String key = f.getKey();
            if (CONTROLS.contains(key) || !filters.contains(key)) {
                continue;
            }
            String wanted = f.getValue().get(0);
            if (key.equals("metadata")) {
                Object meta = row.get("metadata");
                Matcher m = PAIR.matcher(wanted);
                while (m.find()) {
                    if (!(meta instanceof Map<?, ?> mm) || !m.group(2).equals(mm.get(m.group(1)))) {
                        return false;
                    }
                }
                continue;
            }
            Object value = row.get(key);
            if (value == null || !String.valueOf(value).equalsIgnoreCase(wanted)) {
                return false;
            }
        }
        return true;
    }

    /** Cinder's default order is newest first ({@code created_at:desc}), ties by id. */
    private static Comparator<Map<String, Object>> order(MultivaluedMap<String, String> q) {
        List<String[]> keys = new ArrayList<>();
        if (q.getFirst("sort") != null) {
            for (String part : q.getFirst("sort").split(",")) {
                String[] kd = part.trim().split(":");
                keys.add(new String[] {kd[0], kd.length > 1 ? kd[1] : "desc"});
            }
        } else if (q.getFirst("sort_key") != null) {
            keys.add(new String[] {q.getFirst("sort_key"), q.getFirst("sort_dir") == null ? "desc"
                    : q.getFirst("sort_dir")});
        }
        keys.add(new String[] {"created_at", "desc"});
        keys.add(new String[] {"id", "desc"});
        Comparator<Map<String, Object>> c = null;
        for (String[] kd : keys) {
            String key = kd[0].equals("name") ? "name" : kd[0];
            if (!kd[1].equals("asc") && !kd[1].equals("desc")) {
                throw VolumeException.invalid("Invalid input received: Unknown sort direction, must be 'desc' or"
                        + " 'asc'.");
            }
            Comparator<Map<String, Object>> one = (a, b) -> compare(a.get(key), b.get(key));
            if (kd[1].equals("desc")) {
                one = one.reversed();
            }
            c = c == null ? one : c.thenComparing(one);
        }
        return c;
    }

    private static int compare(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            return Long.compare(x.longValue(), y.longValue());
        }
        return String.valueOf(a == null ? "" : a).compareTo(String.valueOf(b == null ? "" : b));
    }

    private static int nonNegative(String text, String name, int otherwise) {
        if (text == null) {
            return otherwise;
        }
        try {
            int v = Integer.parseInt(text.trim());
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw VolumeException.invalid("Invalid input received: " + name + " must be a non-negative integer, not "
                    + text + ".");
        }
    }

    /** The same row with only the summary's fields. */
    static Map<String, Object> summary(Map<String, Object> row) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", row.get("id"));
        m.put("name", row.get("name"));
        m.put("links", row.get("links"));
        return m;
    }
}
