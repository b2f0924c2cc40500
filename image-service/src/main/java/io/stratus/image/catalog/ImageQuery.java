package io.stratus.image.catalog;

import io.stratus.image.store.Image;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Predicate;

/**
 * What a listing asks for ({@code GET /v2/images?...}, read by {@link ListParameters}): which
 * images, in which order, which page.
 *
 * @param visibility the visibility asked for ({@code public}, {@code private}, {@code shared},
 *     {@code community}, {@code all}); empty: Glance's default, every visible image but other
 *     projects' community images
 * @param filters what each listed image must match
 * @param sort the order, most significant first (with the keys that break ties: Glance adds
 *     {@code created_at} and {@code id})
 * @param marker the last image of the previous page
 * @param limit the most images on the page
 */
public record ImageQuery(Optional<String> visibility, List<Predicate<Image>> filters, List<SortKey> sort,
                         Optional<String> marker, OptionalInt limit) {
    /** Glance's default order. */
    public static final List<SortKey> NEWEST_FIRST = List.of(new SortKey("created_at", false),
            new SortKey("id", false));

    public ImageQuery {
        filters = List.copyOf(filters);
        sort = List.copyOf(sort);
    }

    /** Every image the default visibility shows, hidden ones too, newest first, on one page. */
    public static ImageQuery all() {
        return new ImageQuery(Optional.empty(), List.of(), NEWEST_FIRST, Optional.empty(), OptionalInt.empty());
    }

    /** One key of the order. */
    public record SortKey(String attribute, boolean ascending) {
    }

    /** Whether {@code image} passes every filter (visibility is the catalog's to apply). */
    public boolean matches(Image image) {
        return filters.stream().allMatch(f -> f.test(image));
    }

    /**
     * The order of the listing by the sort keys. A missing value comes first when ascending, last
     * when descending (as the lowest value).
     */
    public Comparator<Image> order() {
        Comparator<Image> order = (a, b) -> 0;
        for (SortKey k : sort) {
            Comparator<Image> c = Comparator.comparing(i -> ImageAttributes.comparable(i, k.attribute()),
                    Comparator.nullsFirst(Comparator.naturalOrder()));
            c = k.ascending() ? c : c.reversed();
            order = order.thenComparing(c);
        }
        return order;
    }
}
