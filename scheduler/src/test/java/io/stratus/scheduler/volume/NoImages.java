package io.stratus.scheduler.volume;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** No image service, for the volume tests whose volumes are made empty. */
public final class NoImages implements Images {
    @Override
    public Optional<Facts> find(String imageId) {
        return Optional.empty();
    }

    @Override
    public void download(String imageId, Path to) {
        throw new UnsupportedOperationException();
    }

    @Override
    public String create(String callerToken, Map<String, Object> fields) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void upload(String imageId, Path from) {
        throw new UnsupportedOperationException();
    }
}
