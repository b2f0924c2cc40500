package io.stratus.image.catalog;

import io.stratus.image.store.Image;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the query of {@code GET /v2/images} as Glance does ({@code RequestDeserializer.index} and
 * its database filters): {@code limit}, {@code marker}, {@code sort} or {@code sort_key} and
 * {@code sort_dir}, {@code visibility}, {@code tag} (repeated: all of them), {@code os_hidden}
 * (false unless given), {@code protected}; {@code X_min} and {@code X_max} on the numeric columns
 * ({@code size_min}, {@code size_max}...); {@code name}, {@code id}, {@code status} and the
 * formats with an optional operator ({@code in:a,b} or {@code eq:a}); {@code created_at} and
 * {@code updated_at} with a comparison ({@code gte:2020-01-01T00:00:00Z}); any other column by
 * equality ({@code size}, {@code owner}, {@code min_ram}...); and anything else as a property
 * that must have the value given.
 */
public final class ListParameters {
    /** Glance's {@code api_limit_max}: the most images one page holds. */
    public static final int MAX_LIMIT = 1000;
    private static final Set<String> SORT_KEYS = Set.of("name", "status", "container_format", "disk_format", "size",
            "id", "created_at", "updated_at");
    private static final Set<String> VISIBILITIES = Set.of("community", "public", "private", "shared", "all");
    private static final Set<String> MEMBER_STATUSES = Set.of("pending", "accepted", "rejected", "all");
    private static final Set<String> WITH_OPERATOR = Set.of("name", "id", "status", "container_format",
            "disk_format");
    private static final Set<String> TIMES = Set.of("created_at", "updated_at");
    private static final Set<String> NOT_FILTERS = Set.of("limit", "marker", "member_status", "tag", "sort",
            "sort_key", "sort_dir", "visibility", "os_hidden");
    private static final Pattern IN_VALUE = Pattern.compile("\"([^\"\\\\]*(?:\\\\.[^\"\\\\]*)*)\",?|([^,]+),?|,");

    private ListParameters() {
    }

    /**
     * The listing {@code parameters} ask for (a parameter given twice counts once, its last value,
     * but for {@code tag}, {@code sort_key} and {@code sort_dir}).
     *
     * @throws CatalogException {@link CatalogException.Reason#INVALID} for a parameter Glance refuses
     */
    public static ImageQuery parse(Map<String, List<String>> parameters) {
        if (parameters.containsKey("changes-since")) {
            throw CatalogException.invalid("The \"changes-since\" filter is no longer available on v2.");
        }
        Optional<String> visibility = last(parameters, "visibility");
        if (visibility.isPresent() && !VISIBILITIES.contains(visibility.get())) {
            throw CatalogException.invalid("Invalid visibility value: " + visibility.get());
        }
        last(parameters, "member_status").filter(s -> !MEMBER_STATUSES.contains(s)).ifPresent(s -> {
            throw CatalogException.invalid("Invalid status: " + s);
        });
        List<Predicate<Image>> filters = new ArrayList<>();
        boolean hidden = bool(last(parameters, "os_hidden").orElse("false"), "os_hidden");
        filters.add(i -> i.hidden() == hidden);
        for (String tag : parameters.getOrDefault("tag", List.of())) {
            String t = tag.strip();
            filters.add(i -> i.tags().contains(t));
        }
        for (Map.Entry<String, List<String>> p : parameters.entrySet()) {
            if (!NOT_FILTERS.contains(p.getKey()) && !p.getValue().isEmpty()) {
                filters.add(filter(p.getKey(), p.getValue().get(p.getValue().size() - 1)));
            }
        }
        return new ImageQuery(visibility, filters, sort(parameters), last(parameters, "marker"), limit(parameters));
    }

    private static Predicate<Image> filter(String key, String value) {
        if (key.equals("protected")) {
            boolean p = bool(value, key);
            return i -> i.isProtected() == p;
        }
        if (key.endsWith("_min") || key.endsWith("_max")) {
            return range(key.substring(0, key.length() - 4), key.endsWith("_min"), value);
        }
        if (TIMES.contains(key)) {
            return time(key, value);
        }
        if (WITH_OPERATOR.contains(key)) {
            String[] opValue = operator(value);
            List<String> wanted = switch (opValue[0]) {
                case "eq" -> List.of(opValue[1]);
                case "in" -> inValues(opValue[1]);
                default -> throw CatalogException.invalid("Unable to filter by unknown operator '" + opValue[0]
                        + "'.");
            };
            return i -> wanted.contains(String.valueOf(ImageAttributes.value(i, key)));
        }
        if (ImageAttributes.COLUMNS.contains(key)) {
            return i -> {
                Object v = ImageAttributes.value(i, key);
                return v != null && v.toString().equals(value);
            };
        }
        return i -> value.equals(i.properties().get(key));
    }

    private static Predicate<Image> range(String column, boolean min, String value) {
        if (!ImageAttributes.NUMERIC.contains(column)) {
            throw CatalogException.invalid("Unable to filter on a range of '" + column + "': only of "
                    + ImageAttributes.NUMERIC);
        }
        long bound;
        try {
            bound = Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw CatalogException.invalid("Unable to filter on a range with a non-numeric value.");
        }
        return i -> {
            Object v = ImageAttributes.value(i, column);
            return v != null && (min ? (Long) v >= bound : (Long) v <= bound);
        };
    }

    private static Predicate<Image> time(String column, String expression) {
        String[] opValue = operator(expression);
        Instant threshold = isoTime(opValue[1]).orElseThrow(() -> CatalogException.invalid("Bad \"" + column
                + "\" query filter format. Use ISO 8601 DateTime notation."));
        Predicate<Integer> test = switch (opValue[0]) {
            case "gt" -> c -> c > 0;
            case "gte" -> c -> c >= 0;
            case "lt" -> c -> c < 0;
            case "lte" -> c -> c <= 0;
            case "neq" -> c -> c != 0;
            case "eq" -> c -> c == 0;
            default -> throw CatalogException.invalid("Unable to filter on a unknown operator.");
        };
        return i -> test.test(((Instant) ImageAttributes.value(i, column)).compareTo(threshold));
    }

    /** Glance's {@code split_filter_op}: {@code op:value}, or {@code eq} for a bare value or an ISO time. */
    private static String[] operator(String expression) {
        int colon = expression.indexOf(':');
        if (colon < 0 || isoTime(expression).isPresent()) {
            return new String[] {"eq", expression};
        }
        return new String[] {expression.substring(0, colon), expression.substring(colon + 1)};
    }

    /** Glance's {@code split_filter_value_for_quotes}: comma-separated values, each maybe in double quotes. */
    static List<String> inValues(String value) {
        boolean open = true;
        for (int i = 0; i < value.length(); i++) {
            if (value.charAt(i) != '"' || (i > 0 && value.charAt(i - 1) == '\\')) {
                continue;
            }
            if (open && i > 0 && value.charAt(i - 1) != ',') {
                throw CatalogException.invalid("Invalid filter value " + value + ". There is no comma before opening"
                        + " quotation mark.");
            }
            if (!open && i + 1 != value.length() && value.charAt(i + 1) != ',') {
                throw CatalogException.invalid("Invalid filter value " + value + ". There is no comma after closing"
                        + " quotation mark.");
            }
            open = !open;
        }
        if (!open) {
            throw CatalogException.invalid("Invalid filter value " + value + ". The quote is not closed.");
        }
        List<String> out = new ArrayList<>();
        Matcher m = IN_VALUE.matcher(value);
        while (m.find()) {
            out.add(m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : "");
        }
        return out;
    }

    private static Optional<Instant> isoTime(String s) {
        try {
            return Optional.of(OffsetDateTime.parse(s).toInstant());
        } catch (DateTimeParseException e) {
            // Without an offset: UTC, as Glance normalises.
        }
        try {
            return Optional.of(LocalDateTime.parse(s).toInstant(ZoneOffset.UTC));
        } catch (DateTimeParseException e) {
            // A date alone: its midnight.
        }
        try {
            return Optional.of(LocalDate.parse(s).atStartOfDay().toInstant(ZoneOffset.UTC));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** Glance's sort parameters: {@code sort=k1:asc,k2} or {@code sort_key=k1&sort_dir=asc}, then the ties. */
    private static List<ImageQuery.SortKey> sort(Map<String, List<String>> parameters) {
        List<String> keys = new ArrayList<>();
        List<String> dirs = new ArrayList<>();
        if (parameters.containsKey("sort")) {
            if (parameters.containsKey("sort_key") || parameters.containsKey("sort_dir")) {
                throw CatalogException.invalid("Old and new sorting syntax cannot be combined");
            }
            for (String s : last(parameters, "sort").orElse("").strip().split(",")) {
                int colon = s.indexOf(':');
                keys.add(sortKey(colon < 0 ? s.strip() : s.substring(0, colon).strip()));
                dirs.add(sortDir(colon < 0 || s.substring(colon + 1).isBlank() ? "desc"
                        : s.substring(colon + 1).strip()));
            }
        } else {
            parameters.getOrDefault("sort_key", List.of()).forEach(k -> keys.add(sortKey(k.strip())));
            parameters.getOrDefault("sort_dir", List.of()).forEach(d -> dirs.add(sortDir(d.strip())));
            if (dirs.size() > 1 && dirs.size() != keys.size()) {
                throw CatalogException.invalid("Number of sort dirs does not match the number of sort keys");
            }
        }
        if (keys.isEmpty()) {
            keys.add("created_at");
        }
        if (dirs.isEmpty()) {
            dirs.add("desc");
        }
        // One direction given: it holds for every key and for the ties; otherwise ties go descending.
        String tieDir = dirs.size() == 1 ? dirs.get(0) : "desc";
        List<ImageQuery.SortKey> out = new ArrayList<>();
        for (int k = 0; k < keys.size(); k++) {
            out.add(new ImageQuery.SortKey(keys.get(k), (dirs.size() == 1 ? dirs.get(0) : dirs.get(k)).equals("asc")));
        }
        for (String tie : List.of("created_at", "id")) {
            if (!keys.contains(tie)) {
                out.add(new ImageQuery.SortKey(tie, tieDir.equals("asc")));
            }
        }
        return out;
    }

    private static String sortKey(String key) {
        if (!SORT_KEYS.contains(key)) {
            throw CatalogException.invalid("Invalid sort key: " + key + ". It must be one of the following: "
                    + String.join(", ", List.of("name", "status", "container_format", "disk_format", "size", "id",
                    "created_at", "updated_at")) + ".");
        }
        return key;
    }

    private static String sortDir(String dir) {
        if (!dir.equals("asc") && !dir.equals("desc")) {
            throw CatalogException.invalid("Invalid sort direction: " + dir);
        }
        return dir;
    }

    private static OptionalInt limit(Map<String, List<String>> parameters) {
        Optional<String> limit = last(parameters, "limit");
        if (limit.isEmpty()) {
            return OptionalInt.empty();
        }
        int n;
        try {
            n = Integer.parseInt(limit.get().strip());
        } catch (NumberFormatException e) {
            throw CatalogException.invalid("limit param must be an integer");
        }
        if (n < 0) {
            throw CatalogException.invalid("limit param must be positive");
        }
        return OptionalInt.of(Math.min(n, MAX_LIMIT));
    }

    private static boolean bool(String value, String name) {
        String v = value.toLowerCase(Locale.ROOT);
        if (!v.equals("true") && !v.equals("false")) {
            throw CatalogException.invalid("Invalid value '" + value + "' for '" + name + "' filter. Valid values"
                    + " are 'true' or 'false'.");
        }
        return v.equals("true");
    }

    private static Optional<String> last(Map<String, List<String>> parameters, String name) {
        List<String> values = parameters.get(name);
        return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(values.size() - 1));
    }
}
