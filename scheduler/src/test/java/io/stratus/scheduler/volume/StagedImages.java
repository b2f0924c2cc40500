package io.stratus.scheduler.volume;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** Images the volume service's tests stage: their facts and bytes, and a switch that fails downloads. */
final class StagedImages implements Images {
    private final Map<String, Facts> facts = new java.util.HashMap<>();
    private final Map<String, byte[]> data = new java.util.HashMap<>();
    boolean failDownloads;

    void put(Facts f, byte[] bytes) {
        facts.put(f.id(), f);
        data.put(f.id(), bytes);
    }

    @Override
    public Optional<Facts> find(String imageId) {
        return Optional.ofNullable(facts.get(imageId));
    }

    @Override
    public void download(String imageId, Path to) {
        if (failDownloads) {
            throw new IllegalStateException("the image service is unreachable");
        }
        try {
            Files.write(to, data.get(imageId));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public String create(String callerToken, Map<String, Object> fields) {
        return "img-new";
    }

    @Override
    public void upload(String imageId, Path from) {
        data.put(imageId, new byte[0]);
    }
}
