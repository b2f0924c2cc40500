package io.stratus.image.catalog;

import java.util.List;

/**
 * The changes of one {@code PATCH /v2/images/{id}}, applied in order, all or none.
 *
 * @param addReplaces whether {@code add} of an attribute the image has replaces it (the
 *     {@code openstack-images-v2.1-json-patch} media type, RFC 6902) or is a conflict
 *     ({@code openstack-images-v2.0-json-patch}, JSON Schema draft 4 style)
 */
public record ImagePatch(boolean addReplaces, List<PatchOperation> operations) {
    public ImagePatch {
        operations = List.copyOf(operations);
    }
}
