package io.stratus.image.service;

import io.stratus.database.Database;
import io.stratus.database.PrivateFiles;
import io.stratus.image.auth.RemoteIdentity;
import io.stratus.image.blob.BlobStore;
import io.stratus.image.catalog.ImageCatalog;
import io.stratus.image.catalog.ImageSchema;
import io.stratus.image.config.ImageServiceConfig;
import io.stratus.image.store.ImageStore;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;

/** Wires the image service's plain-Java parts together. */
@Singleton
public class ImageComponents {
    @Produces
    @Singleton
    Clock clock() {
        return Clock.systemUTC();
    }

    @Produces
    @Singleton
    Database database(ImageServiceConfig config) {
        try {
            PrivateFiles.directory(config.dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the image service's data directory " + config.dataDir(), e);
        }
        ImageServiceConfig.Database db = config.db();
        return Database.open(db.url(), db.user(), db.password(), db.poolSize());
    }

    void closeDatabase(@Disposes Database database) {
        database.close();
    }

    @Produces
    @Singleton
    ImageStore images(Database db, Clock clock) {
        return new ImageStore(db.dataSource(), clock);
    }

    @Produces
    @Singleton
    ImageSchema schema() {
        return ImageSchema.glance();
    }

    @Produces
    @Singleton
    ImageCatalog catalog(ImageStore images, ImageSchema schema, Clock clock) {
        return new ImageCatalog(images, schema, clock);
    }

    @Produces
    @Singleton
    BlobStore blobs(ImageServiceConfig config) {
        try {
            return new BlobStore(config.dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the blob store in " + config.dataDir(), e);
        }
    }

    @Produces
    @Singleton
    RemoteIdentity identity(ImageServiceConfig config, Clock clock) {
        return new RemoteIdentity(config.identityUrl(), config.tokenCache(), clock);
    }
}
