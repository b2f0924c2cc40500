package io.stratus.image.api;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One HTTP byte range ({@code Range: bytes=first-last}, {@code bytes=first-},
 * {@code bytes=-suffix}) resolved against a size. Several ranges in one request are not served
 * (Glance serves one too).
 */
public record ByteRange(long first, long last) {
    private static final Pattern ONE = Pattern.compile("bytes=(\\d{0,19})-(\\d{0,19})");

    public long length() {
        return last - first + 1;
    }

    /**
     * The range {@code header} asks of {@code size} bytes; empty without a header.
     *
     * @throws UnsatisfiableException the header is malformed, asks for several ranges, or lies
     *     outside the data
     */
    public static Optional<ByteRange> parse(String header, long size) {
        if (header == null || header.isBlank()) {
            return Optional.empty();
        }
        Matcher m = ONE.matcher(header.trim());
        if (!m.matches() || (m.group(1).isEmpty() && m.group(2).isEmpty())) {
            throw new UnsatisfiableException("Range must be one range of bytes (bytes=FIRST-LAST, bytes=FIRST- or"
                    + " bytes=-SUFFIX), not '" + header + "'");
        }
        try {
            return Optional.of(resolve(m.group(1), m.group(2), size));
        } catch (NumberFormatException e) {
            throw new UnsatisfiableException("the range '" + header + "' has a position beyond any image");
        }
    }

    private static ByteRange resolve(String from, String to, long size) {
        long first;
        long last;
        if (from.isEmpty()) {
            long suffix = Long.parseLong(to);
            if (suffix == 0) {
                throw new UnsatisfiableException("a suffix range of 0 bytes selects nothing");
            }
            first = Math.max(0, size - suffix);
            last = size - 1;
        } else {
            first = Long.parseLong(from);
            last = to.isEmpty() ? size - 1 : Math.min(Long.parseLong(to), size - 1);
            if (!to.isEmpty() && Long.parseLong(to) < first) {
                throw new UnsatisfiableException("the range ends (" + to + ") before it starts (" + first + ")");
            }
        }
        if (first >= size || size == 0) {
            throw new UnsatisfiableException("the range starts at " + first + ", the image has " + size + " bytes");
        }
        return new ByteRange(first, last);
    }

    /** Answered 416 with the data's size. */
    public static final class UnsatisfiableException extends RuntimeException {
        public UnsatisfiableException(String message) {
            super(message);
        }
    }
}
