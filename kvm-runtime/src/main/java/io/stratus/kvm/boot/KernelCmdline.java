package io.stratus.kvm.boot;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A kernel command line under construction. It accepts printable ASCII only, refuses to grow
 * beyond its capacity, and knows which parameters are already there so that the VMM adds its
 * own ({@code console=}, device parameters) only where the user did not choose.
 */
public final class KernelCmdline {
    private final int capacity;
    private final List<String> words = new ArrayList<>();
    private int length;

    /** @param capacity the longest command line the kernel accepts, without the terminating NUL */
    public KernelCmdline(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.capacity = capacity;
    }

    /** Appends space-separated parameters; quoted values keep their spaces. */
    public KernelCmdline append(String parameters) {
        for (int i = 0; i < parameters.length(); i++) {
            char c = parameters.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                throw new IllegalArgumentException(String.format(
                        "kernel command line has a non-printable or non-ASCII character (U+%04X) at %d", (int) c, i));
            }
        }
        for (String word : split(parameters)) {
            int added = word.length() + (words.isEmpty() ? 0 : 1);
            if (length + added > capacity) {
                throw new IllegalArgumentException("kernel command line would be longer than the kernel's limit of "
                        + capacity + " bytes");
            }
            words.add(word);
            length += added;
        }
        return this;
    }

    /** Whether a parameter named {@code key} (as in {@code key} or {@code key=value}) is present. */
    public boolean has(String key) {
        for (String w : words) {
            if (w.equals(key) || w.startsWith(key + "=")) {
                return true;
            }
        }
        return false;
    }

    /** Whether the exact word {@code parameter} (for example {@code acpi=off}) is present. */
    public boolean hasWord(String parameter) {
        return words.contains(parameter);
    }

    /** Appends {@code key=value} unless {@code key} is already set. */
    public KernelCmdline addIfAbsent(String key, String value) {
        if (!has(key)) {
            append(key + "=" + value);
        }
        return this;
    }

    public int length() {
        return length;
    }

    /** The command line as the kernel reads it: ASCII, NUL-terminated. */
    public byte[] toBytes() {
        byte[] text = toString().getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[text.length + 1];
        System.arraycopy(text, 0, out, 0, text.length);
        return out;
    }

    @Override
    public String toString() {
        return String.join(" ", words);
    }

    private static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                quoted = !quoted;
                current.append(c);
            } else if (c == ' ' && !quoted) {
                if (current.length() > 0) {
                    out.add(current.toString());
                    current.setLength(0);
                }
            } else {
                current.append(c);
            }
        }
        if (quoted) {
            throw new IllegalArgumentException("kernel command line has an unterminated quote");
        }
        if (current.length() > 0) {
            out.add(current.toString());
        }
        return out;
    }
}
