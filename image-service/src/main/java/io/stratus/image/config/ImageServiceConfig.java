package io.stratus.image.config;

import io.smallrye.config.ConfigMapping;
import java.nio.file.Path;
import java.time.Duration;

/** The image service's settings ({@code stratus.image.*}). */
@ConfigMapping(prefix = "stratus.image")
public interface ImageServiceConfig {
    /** The base URL clients reach this service under (links in responses). */
    String publicUrl();

    /** Image data (by sha256), upload scratch space and the embedded database. */
    Path dataDir();

    /** The Identity v3 endpoint that checks tokens (the scheduler's). */
    String identityUrl();

    /** How long a checked token is believed without asking again. */
    Duration tokenCache();

    /** The largest image, in bytes. */
    long maxImageBytes();

    /** The image data one project may store, in bytes. */
    long projectQuotaBytes();

    Database db();

    /** Where the image records are. */
    interface Database {
        String url();

        String user();

        String password();

        int poolSize();
    }
}
