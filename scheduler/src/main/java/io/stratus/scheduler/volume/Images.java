package io.stratus.scheduler.volume;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** The image service as the volume service uses it: images in, volumes out as images. */
public interface Images {
    /**
     * An image as the volume service needs to know it.
     *
     * @param properties the image's own fields and properties, kept as the volume's image metadata
     */
    record Facts(String id, String owner, String visibility, String status, String diskFormat, long size,
                 long minDisk, Map<String, String> properties) {
        public boolean visibleTo(String projectId) {
            return owner.equals(projectId) || !"private".equals(visibility);
        }
    }

    Optional<Facts> find(String imageId);

    /** Writes the image's data to {@code to}. */
    void download(String imageId, Path to);

    /** Creates a queued image as the caller's (with the caller's token); returns its id. */
    String create(String callerToken, Map<String, Object> fields);

    /** Uploads the image's data. */
    void upload(String imageId, Path from);
}
