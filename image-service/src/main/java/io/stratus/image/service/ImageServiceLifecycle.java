package io.stratus.image.service;

import io.quarkus.runtime.StartupEvent;
import io.stratus.image.blob.BlobStore;
import io.stratus.image.config.ImageServiceConfig;
import io.stratus.image.store.ImageStore;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import org.jboss.logging.Logger;

/** At start, uploads the last run left unfinished go back to {@code queued} and their scratch files go. */
@Singleton
public class ImageServiceLifecycle {
    private static final Logger LOG = Logger.getLogger(ImageServiceLifecycle.class);

    @Inject
    ImageStore images;
    @Inject
    BlobStore blobs;
    @Inject
    ImageServiceConfig config;

    void start(@Observes StartupEvent event) throws IOException {
        int requeued = images.requeueInterrupted();
        int cleared = blobs.clearUploads();
        if (requeued > 0 || cleared > 0) {
            LOG.infof("%d interrupted upload(s) back to queued, %d scratch file(s) removed", requeued, cleared);
        }
        LOG.infof("image service at %s, data in %s, tokens checked at %s", config.publicUrl(), config.dataDir(),
                config.identityUrl());
    }
}
