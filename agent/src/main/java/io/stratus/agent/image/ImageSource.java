package io.stratus.agent.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/** Where the agent's image cache gets images from. */
public interface ImageSource {
    /**
     * The image's digest, size and format.
     *
     * @throws ImageException ImageNotFound, ImageNotActive, or ImageUnavailable (the source does not answer)
     */
    ImageInfo describe(String id);

    /**
     * The image's data, from its start; the caller closes it and verifies what it read.
     *
     * @throws ImageException as for {@link #describe}
     */
    InputStream open(String id) throws IOException;

    /**
     * Stores {@code file}, a raw disk image, as the data of image {@code id}: one the scheduler
     * created (queued) for an image of an instance.
     *
     * @throws ImageException ImageNotFound, or ImageUploadFailed (refused, or the source does not answer)
     */
    default void upload(String id, Path file) throws IOException {
        throw new ImageException("ImageUploadFailed", describeSelf() + " does not take images");
    }

    /** Names the source in messages. */
    String describeSelf();
}
