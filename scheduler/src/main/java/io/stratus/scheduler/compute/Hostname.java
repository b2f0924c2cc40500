package io.stratus.scheduler.compute;

import java.util.Locale;

/**
 * A guest's hostname made from its server's name, as Nova makes it at create
 * ({@code nova/utils.py sanitize_hostname} and {@code compute/api.py _populate_instance_names}):
 * what cloud-init sets and the metadata service answers.
 */
public final class Hostname {
    /** The shortest limit of the systems that use it (dnsmasq: 63), as Nova chooses. */
    private static final int MAX = 63;

    private Hostname() {
    }

    /**
     * The hostname of server {@code serverId} named {@code name}, number {@code index} (from 0) of
     * {@code count} made by one request: the sanitized name, {@code Server-<id>} when nothing of
     * it is left, with {@code -<index+1>} when the request made several.
     */
    public static String of(String name, String serverId, int index, int count) {
        String h = sanitize(name);
        if (h.isEmpty()) {
            return "Server-" + serverId;
        }
        return count > 1 ? h + "-" + (index + 1) : h;
    }

    /**
     * Nova's sanitize_hostname: characters beyond U+00FF dropped, cut to 63, spaces, underscores
     * and dots to dashes, anything but letters, digits, dashes removed, lower case, no leading or
     * trailing dots and dashes.
     */
    public static String sanitize(String name) {
        StringBuilder latin1 = new StringBuilder();
        name.codePoints().filter(c -> c <= 0xFF).forEach(latin1::appendCodePoint);
        String cut = latin1.length() > MAX ? latin1.substring(0, MAX) : latin1.toString();
        StringBuilder b = new StringBuilder();
        for (char c : cut.toCharArray()) {
            if (c == ' ' || c == '_' || c == '.') {
                b.append('-');
            } else if (c == '-' || word(c)) {
                b.append(c);
            }
        }
        String lower = b.toString().toLowerCase(Locale.ROOT);
        int from = 0;
        int to = lower.length();
        while (from < to && (lower.charAt(from) == '-' || lower.charAt(from) == '.')) {
            from++;
        }
        while (to > from && (lower.charAt(to - 1) == '-' || lower.charAt(to - 1) == '.')) {
            to--;
        }
        return lower.substring(from, to);
    }

    /**
     * Python's {@code \w} on a string: letters, every kind of number (², ½ too) and the
     * underscore (already a dash here).
     */
    private static boolean word(char c) {
        int type = Character.getType(c);
        return Character.isLetter(c) || type == Character.DECIMAL_DIGIT_NUMBER || type == Character.LETTER_NUMBER
                || type == Character.OTHER_NUMBER;
    }
}
