package io.stratus.image.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.stratus.api.auth.Caller;
import io.stratus.database.Database;
import io.stratus.image.catalog.CatalogException.Reason;
import io.stratus.image.store.Image;
import io.stratus.image.store.ImageStore;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The catalog on its real store (H2), called as a project's members and as an admin. */
class ImageCatalogTest {
    private static final JsonNodeFactory J = JsonNodeFactory.instance;
    private static final Instant LATER = Instant.now().plusSeconds(3600);
    private final Caller member = new Caller("u-1", "p-1", Set.of("member"), LATER);
    private final Caller other = new Caller("u-2", "p-2", Set.of("member"), LATER);
    private final Caller admin = new Caller("u-0", "p-admin", Set.of("admin"), LATER);
    private Database db;
    private ImageStore store;
    private ImageCatalog catalog;

    @BeforeEach
    void open() {
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        store = new ImageStore(db.dataSource(), Clock.systemUTC());
        catalog = new ImageCatalog(store, ImageSchema.glance(), Clock.systemUTC());
    }

    @AfterEach
    void close() {
        db.close();
    }

    private static Map<String, JsonNode> fields(Object... nameValue) {
        Map<String, JsonNode> m = new LinkedHashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            Object v = nameValue[i + 1];
            m.put((String) nameValue[i], v instanceof JsonNode n ? n : v instanceof Integer n ? J.numberNode(n)
                    : J.textNode((String) v));
        }
        return m;
    }

    private Image create(Caller c, Object... nameValue) {
        return catalog.create(c, Optional.empty(), fields(nameValue));
    }

    private static void refused(ThrowingCallable call, Reason reason, String message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(CatalogException.class, e -> {
            assertThat(e.reason()).isEqualTo(reason);
            assertThat(e.getMessage()).contains(message);
        });
    }

    private ImagePatch patch(PatchOperation... ops) {
        return new ImagePatch(true, List.of(ops));
    }

    @Test
    void createTakesGlanceFieldsTagsAndPropertiesAndRefusesWhatGlanceRefuses() {
        Image i = create(member, "name", "cirros", "disk_format", "qcow2", "container_format", "bare", "min_ram", 64,
                "tags", J.arrayNode().add("x86").add("small"), "os_distro", "cirros");
        assertThat(store.find(i.id())).contains(i);
        assertThat(i.status()).isEqualTo("queued");
        assertThat(i.owner()).isEqualTo("p-1");
        assertThat(i.visibility()).isEqualTo("private");
        assertThat(i.tags()).containsExactly("small", "x86");
        assertThat(i.properties()).containsExactly(Map.entry("os_distro", "cirros"));
        String id = "0b1e7c5e-5f0c-4cf0-9d7c-8a6f8e0d1c2b";
        assertThat(catalog.create(member, Optional.of(id), fields()).id()).isEqualTo(id);
        refused(() -> catalog.create(member, Optional.of(id), fields()), Reason.CONFLICT, "already exists");
        refused(() -> catalog.create(member, Optional.of("not-a-uuid"), fields()), Reason.INVALID, "does not match");
        refused(() -> create(member, "status", "active"), Reason.FORBIDDEN, "Attribute 'status' is read-only.");
        refused(() -> create(member, "os_glance_x", "y"), Reason.FORBIDDEN, "Attribute 'os_glance_x' is reserved.");
        refused(() -> create(member, "visibility", "public"), Reason.FORBIDDEN, "Only admins");
        refused(() -> create(member, "kernel_id", UUID.randomUUID().toString()), Reason.INVALID,
                "is not an image you can see");
        assertThat(catalog.list(admin, ImageQuery.all()).images()).hasSize(2);
    }

    @Test
    void aPatchIsStoredWholeOrNotAtAll() {
        Image i = create(member, "name", "before", "os_distro", "debian");
        Image after = catalog.update(member, i.id(), patch(PatchOperation.replace("name", J.textNode("after")),
                PatchOperation.add("os_version", J.textNode("12")), PatchOperation.remove("os_distro")));
        assertThat(after.name()).isEqualTo("after");
        assertThat(after.properties()).containsExactly(Map.entry("os_version", "12"));
        assertThat(store.find(i.id())).contains(after);

        // The good changes before a bad one are not kept.
        refused(() -> catalog.update(member, i.id(), patch(PatchOperation.replace("name", J.textNode("lost")),
                PatchOperation.add("tags", J.arrayNode().add("lost")), PatchOperation.remove("os_distro"))),
                Reason.CONFLICT, "Property os_distro does not exist.");
        assertThat(store.find(i.id())).contains(after);
    }

    @Test
    void onlyTheOwnerOrAnAdminChangesAnImageAndOnlyThoseWhoSeeItFindIt() {
        Image mine = create(member, "name", "mine");
        refused(() -> catalog.update(other, mine.id(), patch(PatchOperation.replace("name", J.textNode("x")))),
                Reason.NOT_FOUND, "No image found with ID " + mine.id());
        refused(() -> catalog.addTag(other, mine.id(), "x"), Reason.NOT_FOUND, "No image found");
        Image community = catalog.update(member, mine.id(), patch(PatchOperation.replace("visibility",
                J.textNode("community"))));
        assertThat(catalog.visible(other, mine.id())).isEqualTo(community);
        refused(() -> catalog.update(other, mine.id(), patch(PatchOperation.replace("name", J.textNode("x")))),
                Reason.FORBIDDEN, "not permitted");
        refused(() -> catalog.removeTag(other, mine.id(), "x"), Reason.FORBIDDEN, "not permitted");
        assertThat(catalog.update(admin, mine.id(), patch(PatchOperation.replace("visibility",
                J.textNode("public")))).visibility()).isEqualTo("public");
    }

    @Test
    void tagsAreASetOfAtMost128() {
        Image i = create(member, "tags", J.arrayNode().add("a"));
        assertThat(catalog.addTag(member, i.id(), "b").tags()).containsExactly("a", "b");
        assertThat(catalog.addTag(member, i.id(), "b").tags()).as("again: no error, no change")
                .containsExactly("a", "b");
        assertThat(catalog.removeTag(member, i.id(), "a").tags()).containsExactly("b");
        refused(() -> catalog.removeTag(member, i.id(), "a"), Reason.NOT_FOUND, "has no tag a");
        refused(() -> catalog.addTag(member, i.id(), "t".repeat(256)), Reason.INVALID, "too long");
        refused(() -> catalog.addTag(member, UUID.randomUUID().toString(), "a"), Reason.NOT_FOUND, "No image");
        for (int n = 0; n < 127; n++) {
            catalog.addTag(member, i.id(), "tag-" + n);
        }
        refused(() -> catalog.addTag(member, i.id(), "one-too-many"), Reason.LIMIT_EXCEEDED, "Maximum: 128");
        assertThat(store.find(i.id()).orElseThrow().tags()).hasSize(128).doesNotContain("one-too-many");
    }

    private List<String> names(Caller c, String query) {
        Map<String, List<String>> params = new LinkedHashMap<>();
        if (!query.isEmpty()) {
            for (String p : query.split("&")) {
                String[] kv = p.split("=", 2);
                params.computeIfAbsent(kv[0], k -> new java.util.ArrayList<>()).add(kv[1]);
            }
        }
        return catalog.list(c, ListParameters.parse(params)).images().stream().map(Image::name).toList();
    }

    private Image uploaded(Caller c, long size, Object... nameValue) {
        Image i = create(c, nameValue);
        assertThat(store.transition(i.id(), "queued", "saving")).isTrue();
        assertThat(store.activate(i.id(), size, String.format("%064d", size))).isTrue();
        return store.find(i.id()).orElseThrow();
    }

    @Test
    void listingsFilterAsGlanceDoes() throws Exception {
        uploaded(member, 1000, "name", "raw-1000", "disk_format", "raw", "tags", J.arrayNode().add("x").add("y"),
                "os_distro", "debian");
        Thread.sleep(2);
        uploaded(member, 2000, "name", "qcow2-2000", "disk_format", "qcow2", "container_format", "ovf", "tags",
                J.arrayNode().add("x"));
        Thread.sleep(2);
        create(member, "name", "queued-iso", "disk_format", "iso", "min_ram", 128);
        Thread.sleep(2);
        Image hidden = create(member, "name", "hidden", "os_hidden", J.booleanNode(true));
        create(other, "name", "others-community", "visibility", "community");
        create(other, "name", "others-private");
        create(admin, "name", "public", "visibility", "public", "disk_format", "vhd");

        assertThat(names(member, "")).containsExactly("public", "queued-iso", "qcow2-2000", "raw-1000");
        assertThat(names(member, "visibility=community")).containsExactly("others-community");
        assertThat(names(member, "visibility=all")).hasSize(5);
        assertThat(names(member, "visibility=private")).containsExactly("queued-iso", "qcow2-2000", "raw-1000");
        assertThat(names(admin, "")).hasSize(5).contains("others-private");
        assertThat(names(member, "os_hidden=true")).containsExactly(hidden.name());
        assertThat(names(member, "disk_format=raw")).containsExactly("raw-1000");
        assertThat(names(member, "disk_format=in:raw,iso")).containsExactly("queued-iso", "raw-1000");
        assertThat(names(member, "container_format=ovf")).containsExactly("qcow2-2000");
        assertThat(names(member, "status=active")).containsExactly("qcow2-2000", "raw-1000");
        assertThat(names(member, "status=queued&visibility=private")).containsExactly("queued-iso");
        assertThat(names(member, "size=2000")).containsExactly("qcow2-2000");
        assertThat(names(member, "size_min=1500")).containsExactly("qcow2-2000");
        assertThat(names(member, "size_min=500&size_max=1500")).containsExactly("raw-1000");
        assertThat(names(member, "min_ram_min=100")).containsExactly("queued-iso");
        assertThat(names(member, "name=raw-1000")).containsExactly("raw-1000");
        assertThat(names(member, "name=in:\"raw-1000\",public")).containsExactly("public", "raw-1000");
        assertThat(names(member, "tag=x")).containsExactly("qcow2-2000", "raw-1000");
        assertThat(names(member, "tag=x&tag=y")).containsExactly("raw-1000");
        assertThat(names(member, "os_distro=debian")).containsExactly("raw-1000");
        assertThat(names(member, "owner=p-2&visibility=all")).containsExactly("others-community");
        assertThat(names(member, "created_at=gt:2000-01-01T00:00:00Z")).hasSize(4);
        assertThat(names(member, "created_at=lt:2000-01-01T00:00:00Z")).isEmpty();
    }

    @Test
    void listingsSortAndPageByMarker() throws Exception {
        for (String n : List.of("c", "a", "d", "b")) {
            uploaded(member, n.charAt(0), "name", n);
            Thread.sleep(2);
        }
        create(member, "name", "e");
        assertThat(names(member, "")).containsExactly("e", "b", "d", "a", "c");
        assertThat(names(member, "sort=name:asc")).containsExactly("a", "b", "c", "d", "e");
        assertThat(names(member, "sort_key=name&sort_dir=desc")).containsExactly("e", "d", "c", "b", "a");
        assertThat(names(member, "sort=size:asc")).as("no size first").containsExactly("e", "a", "b", "c", "d");
        assertThat(names(member, "sort=size:desc")).containsExactly("d", "c", "b", "a", "e");

        ImageCatalog.Page first = catalog.list(member, ListParameters.parse(Map.of("sort", List.of("name:asc"),
                "limit", List.of("2"))));
        assertThat(first.images()).extracting(Image::name).containsExactly("a", "b");
        assertThat(first.next()).contains(first.images().get(1).id());
        ImageCatalog.Page second = catalog.list(member, ListParameters.parse(Map.of("sort", List.of("name:asc"),
                "limit", List.of("2"), "marker", List.of(first.next().get()))));
        assertThat(second.images()).extracting(Image::name).containsExactly("c", "d");
        ImageCatalog.Page last = catalog.list(member, ListParameters.parse(Map.of("sort", List.of("name:asc"),
                "limit", List.of("2"), "marker", List.of(second.next().get()))));
        assertThat(last.images()).extracting(Image::name).containsExactly("e");
        assertThat(last.next()).isEmpty();
        assertThat(names(member, "limit=0")).isEmpty();
        refused(() -> names(member, "marker=" + UUID.randomUUID()), Reason.INVALID, "marker");
    }
}
