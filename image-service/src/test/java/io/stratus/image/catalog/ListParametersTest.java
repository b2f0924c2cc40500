package io.stratus.image.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ListParametersTest {
    private static ImageQuery parse(String... nameValue) {
        Map<String, List<String>> params = new java.util.LinkedHashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            params.computeIfAbsent(nameValue[i], k -> new java.util.ArrayList<>()).add(nameValue[i + 1]);
        }
        return ListParameters.parse(params);
    }

    private static void invalid(String message, String... nameValue) {
        assertThatThrownBy(() -> parse(nameValue)).isInstanceOfSatisfying(CatalogException.class, e -> {
            assertThat(e.reason()).isEqualTo(CatalogException.Reason.INVALID);
            assertThat(e.getMessage()).contains(message);
        });
    }

    private static ImageQuery.SortKey key(String attribute, boolean ascending) {
        return new ImageQuery.SortKey(attribute, ascending);
    }

    @Test
    void sortingFollowsGlancesTwoSyntaxesAndBreaksTiesByCreatedAtAndId() {
        assertThat(parse().sort()).containsExactly(key("created_at", false), key("id", false));
        assertThat(parse("sort", "name:asc,size").sort()).containsExactly(key("name", true), key("size", false),
                key("created_at", false), key("id", false));
        assertThat(parse("sort", "name:asc").sort()).containsExactly(key("name", true), key("created_at", true),
                key("id", true));
        assertThat(parse("sort_key", "name", "sort_key", "size", "sort_dir", "asc").sort()).containsExactly(
                key("name", true), key("size", true), key("created_at", true), key("id", true));
        assertThat(parse("sort_key", "id", "sort_key", "created_at", "sort_dir", "asc", "sort_dir", "desc").sort())
                .containsExactly(key("id", true), key("created_at", false));
        invalid("Old and new sorting syntax cannot be combined", "sort", "name", "sort_key", "size");
        invalid("Invalid sort key: owner", "sort", "owner:asc");
        invalid("Invalid sort direction: up", "sort_key", "name", "sort_dir", "up");
        invalid("Number of sort dirs does not match the number of sort keys", "sort_key", "name", "sort_dir", "asc",
                "sort_dir", "desc");
    }

    @Test
    void pagesAreBoundedAndBadParametersAreRefused() {
        assertThat(parse("limit", "5", "marker", "m").limit()).hasValue(5);
        assertThat(parse("limit", "5000").limit()).hasValue(ListParameters.MAX_LIMIT);
        assertThat(parse().limit()).isEmpty();
        assertThat(parse("marker", "m").marker()).contains("m");
        invalid("limit param must be an integer", "limit", "five");
        invalid("limit param must be positive", "limit", "-1");
        invalid("Invalid visibility value: everyone", "visibility", "everyone");
        invalid("Invalid status: maybe", "member_status", "maybe");
        invalid("changes-since", "changes-since", "2020-01-01T00:00:00Z");
        invalid("Invalid value 'yes' for 'os_hidden' filter", "os_hidden", "yes");
        invalid("Invalid value 'no' for 'protected' filter", "protected", "no");
        invalid("Unable to filter on a range with a non-numeric value.", "size_min", "big");
        invalid("Unable to filter on a range of 'name'", "name_min", "1");
        invalid("Unable to filter by unknown operator 'like'", "name", "like:x");
        invalid("Bad \"created_at\" query filter format", "created_at", "gt:yesterday");
        invalid("Unable to filter on a unknown operator.", "updated_at", "after:2020-01-01T00:00:00Z");
        invalid("The quote is not closed.", "status", "in:\"active,queued");
    }

    @Test
    void inValuesAreCommaSeparatedAndMayBeQuoted() {
        assertThat(ListParameters.inValues("a,b")).containsExactly("a", "b");
        assertThat(ListParameters.inValues("\"a,b\",c")).containsExactly("a,b", "c");
        invalid("There is no comma before opening quotation mark.", "name", "in:a\"b\"");
        invalid("There is no comma after closing quotation mark.", "name", "in:\"a\"b");
    }
}
