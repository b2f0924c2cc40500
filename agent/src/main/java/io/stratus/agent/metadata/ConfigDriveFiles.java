package io.stratus.agent.metadata;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The files of a config drive as the control plane lists them
 * ({@code {"files": [{"path": "openstack/latest/meta_data.json", "content": "<base64>"}, ...]}}),
 * checked before any of them reaches the disk: every path relative and plain (no {@code ..}, no
 * absolute path, no empty or dot segment, no control character), no path twice nor both a file and
 * a directory, and bounded in count and size. The control plane writes them from tenant input
 * (user data, metadata, file names of injected files), so they are treated as hostile.
 */
public record ConfigDriveFiles(List<File> files) {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Nova writes a few dozen (each metadata version's files); far more is not a config drive. */
    static final int MAX_FILES = 1000;
    /**
     * All contents together: user data is at most 64 KiB in Nova, injected files a few more;
     * base64 of it stays within what the JSON parser takes as one string (20 M characters).
     */
    static final long MAX_BYTES = 8L << 20;
    private static final int MAX_PATH = 255;

    public ConfigDriveFiles {
        files = List.copyOf(files);
    }

    /** One file: its path on the drive (relative, {@code /} between names) and its content. */
    public record File(String path, byte[] content) {
        public File {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(content, "content");
        }
    }

    /** What is wrong with a listing. */
    public static final class InvalidException extends Exception {
        InvalidException(String message) {
            super(message);
        }
    }

    /**
     * Parses and checks the control plane's listing.
     *
     * @throws InvalidException it is not a listing, or one of its files is not allowed
     */
    public static ConfigDriveFiles parse(byte[] json) throws InvalidException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            // The original message: the full one quotes the input.
            throw new InvalidException("the config drive listing is not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new InvalidException("the config drive listing cannot be read: " + e.getMessage());
        }
        if (root == null || !root.path("files").isArray()) {
            throw new InvalidException("the config drive listing has no \"files\" array");
        }
        JsonNode list = root.path("files");
        if (list.size() > MAX_FILES) {
            throw new InvalidException("the config drive lists " + list.size() + " files; at most " + MAX_FILES);
        }
        List<File> files = new ArrayList<>();
        long total = 0;
        for (JsonNode f : list) {
            if (!f.path("path").isTextual() || !f.path("content").isTextual()) {
                throw new InvalidException("a config drive file without a text \"path\" and \"content\"");
            }
            String path = f.path("path").asText();
            String problem = pathProblem(path);
            if (problem != null) {
                throw new InvalidException("config drive path '" + printable(path) + "': " + problem);
            }
            byte[] content;
            try {
                content = Base64.getDecoder().decode(f.path("content").asText());
            } catch (IllegalArgumentException e) {
                throw new InvalidException("config drive file " + path + ": its content is not base64");
            }
            total += content.length;
            if (total > MAX_BYTES) {
                throw new InvalidException("the config drive's files hold more than " + MAX_BYTES + " bytes");
            }
            files.add(new File(path, content));
        }
        checkTree(files);
        return new ConfigDriveFiles(files);
    }

    /** Why {@code path} may not be a file's path on the drive; null when it may. */
    static String pathProblem(String path) {
        if (path.isEmpty() || path.length() > MAX_PATH) {
            return "empty or longer than " + MAX_PATH + " characters";
        }
        if (path.startsWith("/")) {
            return "absolute";
        }
        if (path.endsWith("/")) {
            return "a directory, not a file";
        }
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (Character.isISOControl(c) || c == '\\') {
                return "a control character or backslash";
            }
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                return "an empty, '.' or '..' name";
            }
        }
        return null;
    }

    /** No path twice, and none both a file and a directory (another's parent). */
    private static void checkTree(List<File> files) throws InvalidException {
        Set<String> paths = new HashSet<>();
        Set<String> directories = new HashSet<>();
        for (File f : files) {
            if (!paths.add(f.path())) {
                throw new InvalidException("config drive path " + f.path() + " is listed twice");
            }
            String p = f.path();
            for (int slash = p.indexOf('/'); slash >= 0; slash = p.indexOf('/', slash + 1)) {
                directories.add(p.substring(0, slash));
            }
        }
        for (String d : directories) {
            if (paths.contains(d)) {
                throw new InvalidException("config drive path " + d + " is both a file and a directory");
            }
        }
    }

    private static String printable(String text) {
        String t = text.length() > 80 ? text.substring(0, 80) + "..." : text;
        return t.replaceAll("\\p{Cntrl}", "?");
    }
}
