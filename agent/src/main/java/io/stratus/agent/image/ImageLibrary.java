package io.stratus.agent.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Images on this host's disk, found by id in one directory. This is where the image service's
 * cache will plug in; the ids and the sha256 check are already the contract's.
 */
public final class ImageLibrary {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final Path dir;
    /** sha256 by file identity (path, size, modification time): an image is hashed once. */
    private final Map<String, String> digests = new ConcurrentHashMap<>();

    public ImageLibrary(Path dir) {
        this.dir = dir;
    }

    /** The file of image {@code id}; ids are plain names, never paths. */
    public Path file(String id) {
        if (!ID.matcher(id).matches()) {
            throw new ImageException("ImageNotFound", "image id '" + id + "' is not a valid image name");
        }
        Path file = dir.resolve(id);
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ImageException("ImageNotFound", "image " + id + " is not on this host (" + dir + ")");
        }
        return file;
    }

    /** The file of image {@code id}, checked against {@code sha256} (hex) when one is given. */
    public Path verified(String id, String sha256) {
        Path file = file(id);
        if (sha256.isEmpty()) {
            return file;
        }
        String actual = digest(file);
        if (!actual.equalsIgnoreCase(sha256)) {
            throw new ImageException("ImageChecksumMismatch", "image " + id + " has sha256 " + actual
                    + ", the request expects " + sha256);
        }
        return file;
    }

    private String digest(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            String key = file + "|" + a.size() + "|" + a.lastModifiedTime().toMillis();
            String known = digests.get(key);
            if (known != null) {
                return known;
            }
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            try (InputStream in = Files.newInputStream(file)) {
                int n;
                while ((n = in.read(buffer)) > 0) {
                    sha.update(buffer, 0, n);
                }
            }
            String hex = HexFormat.of().formatHex(sha.digest());
            digests.put(key, hex);
            return hex;
        } catch (IOException e) {
            throw new ImageException("ImageUnreadable", "cannot read image " + file + ": " + e.getMessage());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
