package io.stratus.agent.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Images placed on this host by hand or by configuration management, one file per image id in
 * one directory: for hosts without an image service. The data are digested once per file
 * version (path, size, modification time), so the cache verifies them as it does downloads.
 */
public final class DirectorySource implements ImageSource {
    private final Path dir;
    private final Map<String, String> digests = new ConcurrentHashMap<>();

    public DirectorySource(Path dir) {
        this.dir = dir;
    }

    @Override
    public ImageInfo describe(String id) {
        Path file = file(id);
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            String key = file + "|" + a.size() + "|" + a.lastModifiedTime().toMillis();
            String sha = digests.get(key);
            if (sha == null) {
                MessageDigest digest = ImageCache.sha256();
                try (InputStream in = Files.newInputStream(file)) {
                    byte[] buffer = new byte[1 << 16];
                    int n;
                    while ((n = in.read(buffer)) > 0) {
                        digest.update(buffer, 0, n);
                    }
                }
                sha = HexFormat.of().formatHex(digest.digest());
                digests.put(key, sha);
            }
            return new ImageInfo(id, sha, a.size(), "raw");
        } catch (IOException e) {
            throw new ImageException("ImageUnavailable", "cannot read image " + file + ": " + e.getMessage());
        }
    }

    @Override
    public InputStream open(String id) throws IOException {
        return Files.newInputStream(file(id));
    }

    /** Copies the image in beside the others (under a scratch name first: a reader never sees half). */
    @Override
    public void upload(String id, Path file) throws IOException {
        if (!id.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
            throw new ImageException("ImageNotFound", "'" + id + "' is not an image id");
        }
        Path scratch = dir.resolve("." + id + ".upload");
        Files.copy(file, scratch, StandardCopyOption.REPLACE_EXISTING);
        Files.move(scratch, dir.resolve(id), StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public String describeSelf() {
        return "the image directory " + dir;
    }

    private Path file(String id) {
        Path file = dir.resolve(id);
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ImageException("ImageNotFound", "image " + id + " is not in " + dir);
        }
        return file;
    }
}
