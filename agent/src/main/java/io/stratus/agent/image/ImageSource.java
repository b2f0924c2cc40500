package io.stratus.agent.image;

import java.io.IOException;
import java.io.InputStream;

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

    /** Names the source in messages. */
    String describeSelf();
}
