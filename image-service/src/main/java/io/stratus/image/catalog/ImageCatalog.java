package io.stratus.image.catalog;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.stratus.api.auth.Caller;
import io.stratus.database.Sql;
import io.stratus.image.store.Image;
import io.stratus.image.store.ImageStore;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.UnaryOperator;

/**
 * The image records as callers see and change them: who sees what (a project its own, public
 * and community images; admins and services all), who changes what (the owner or an admin),
 * creation and patches through the {@link ImageEditor}, tags, and listings.
 *
 * <p>A change is read, applied and stored on the condition that the image did not change
 * meanwhile; when it did, the change is applied again to what is there now.
 */
public final class ImageCatalog {
    /** Properties that name other images, which the caller must see (direct kernel boot). */
    private static final List<String> IMAGE_REFERENCES = List.of("kernel_id", "ramdisk_id");
    private static final int ATTEMPTS = 5;

    private final ImageStore store;
    private final ImageSchema schema;
    private final ImageEditor editor;
    private final Clock clock;

    public ImageCatalog(ImageStore store, ImageSchema schema, Clock clock) {
        this.store = store;
        this.schema = schema;
        this.editor = new ImageEditor(schema);
        this.clock = clock;
    }

    /** A page of a listing, and the marker of the next page when this one is full. */
    public record Page(List<Image> images, Optional<String> next) {
        public Page {
            images = List.copyOf(images);
        }
    }

    /** The image {@code id} if {@code caller} may see it. */
    public Image visible(Caller caller, String id) {
        return store.find(id).filter(i -> caller.readsAll() || i.visibleTo(caller.projectId()))
                .orElseThrow(() -> CatalogException.notFound("No image found with ID " + id));
    }

    /**
     * A new, queued image of the caller's project with the fields given (each as an {@code add}).
     *
     * @param id the id asked for (a UUID), or empty for a new one
     */
    public Image create(Caller caller, Optional<String> id, Map<String, JsonNode> fields) {
        id.ifPresent(i -> schema.check("id", JsonNodeFactory.instance.textNode(i)));
        List<PatchOperation> ops = new ArrayList<>();
        fields.forEach((name, value) -> ops.add(PatchOperation.add(name, value)));
        // At the precision the database keeps: the image returned is the image stored.
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        Image blank = new Image(id.orElseGet(() -> UUID.randomUUID().toString()), "", caller.projectId(), "private",
                "queued", "raw", "bare", Optional.empty(), Optional.empty(), 0, 0, false, false, Map.of(), List.of(),
                now, now);
        Image image = editor.apply(blank, new ImagePatch(true, ops), caller.isAdmin());
        checkReferences(caller, blank, image);
        try {
            store.insert(image);
        } catch (Sql.SqlException e) {
            if (e.duplicate()) {
                throw CatalogException.conflict("Image with identifier " + image.id() + " already exists!");
            }
            throw e;
        }
        return image;
    }

    /** The image after {@code patch}; nothing changes when any of it is refused. */
    public Image update(Caller caller, String id, ImagePatch patch) {
        if (patch.operations().isEmpty()) {
            return visible(caller, id);
        }
        return change(caller, id, before -> {
            Image after = editor.apply(before, patch, caller.isAdmin());
            checkReferences(caller, before, after);
            return after;
        });
    }

    /** Tags the image (Glance's {@code PUT /v2/images/{id}/tags/{tag}}); a tag it has already is fine. */
    public Image addTag(Caller caller, String id, String tag) {
        schema.check("tags", JsonNodeFactory.instance.arrayNode().add(tag));
        return change(caller, id, before -> {
            TreeSet<String> tags = new TreeSet<>(before.tags());
            tags.add(tag);
            if (tags.size() > ImageEditor.MAX_TAGS) {
                throw CatalogException.limitExceeded("The limit has been exceeded on the number of allowed image"
                        + " tags. Attempted: " + tags.size() + ", Maximum: " + ImageEditor.MAX_TAGS);
            }
            return before.withTags(tags);
        });
    }

    /** Removes a tag the image has. */
    public Image removeTag(Caller caller, String id, String tag) {
        return change(caller, id, before -> {
            if (!before.tags().contains(tag)) {
                throw CatalogException.notFound("Image " + id + " has no tag " + tag);
            }
            TreeSet<String> tags = new TreeSet<>(before.tags());
            tags.remove(tag);
            return before.withTags(tags);
        });
    }

    /** A page of the images {@code caller} sees that {@code query} selects. */
    public Page list(Caller caller, ImageQuery query) {
        Comparator<Image> order = query.order();
        Optional<Image> marker = query.marker().map(m -> {
            try {
                return visible(caller, m);
            } catch (CatalogException e) {
                throw CatalogException.invalid("marker " + m + " is not an image you can see");
            }
        });
        List<Image> found = new ArrayList<>();
        for (Image i : store.all()) {
            if ((caller.readsAll() || i.visibleTo(caller.projectId())) && inVisibility(caller, query, i)
                    && query.matches(i) && (marker.isEmpty() || order.compare(i, marker.get()) > 0)) {
                found.add(i);
            }
        }
        found.sort(order);
        int limit = query.limit().orElse(Integer.MAX_VALUE);
        if (found.size() <= limit) {
            return new Page(found, Optional.empty());
        }
        List<Image> page = found.subList(0, limit);
        return new Page(page, page.isEmpty() ? Optional.empty() : Optional.of(page.get(page.size() - 1).id()));
    }

    /**
     * Glance's visibility rule for listings: the visibility asked for ({@code all}: any); none
     * asked for, every visibility but other projects' community images.
     */
    private static boolean inVisibility(Caller caller, ImageQuery query, Image i) {
        return query.visibility().map(v -> v.equals("all") || v.equals(i.visibility()))
                .orElse(!i.visibility().equals("community") || i.owner().equals(caller.projectId()));
    }

    /** Reads, changes and stores the image, again while another change came between. */
    private Image change(Caller caller, String id, UnaryOperator<Image> change) {
        for (int attempt = 1; ; attempt++) {
            Image before = visible(caller, id);
            if (!caller.isAdmin() && !before.owner().equals(caller.projectId())) {
                throw CatalogException.forbidden("You are not permitted to modify image " + id);
            }
            Image after = change.apply(before);
            Optional<Image> stored = store.update(before, after);
            if (stored.isPresent()) {
                return stored.get();
            }
            if (attempt == ATTEMPTS) {
                throw CatalogException.conflict("Image " + id + " kept changing while it was updated; try again");
            }
        }
    }

    /** The images that {@code kernel_id} and {@code ramdisk_id} name anew must be ones the caller sees. */
    private void checkReferences(Caller caller, Image before, Image after) {
        for (String ref : IMAGE_REFERENCES) {
            String target = after.properties().get(ref);
            if (target != null && !target.isEmpty() && !Objects.equals(target, before.properties().get(ref))) {
                try {
                    visible(caller, target);
                } catch (CatalogException e) {
                    throw CatalogException.invalid(ref + " " + target + " is not an image you can see");
                }
            }
        }
    }
}
