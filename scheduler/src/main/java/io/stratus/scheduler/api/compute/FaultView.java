package io.stratus.scheduler.api.compute;

import io.stratus.scheduler.compute.Server;
import java.time.Instant;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A server's fault as the caller may see it. Nova shows {@code code}, {@code created} and
 * {@code message} to everyone and {@code details} to admins only; which hosts there are is the
 * operator's business, so a non-admin's message names none: "No valid host" reads as Nova's own
 * sentence (which hosts were filtered out, and why, stays in the admin's message and the log), and
 * any other message has the names of the server's hosts and of every known host replaced.
 */
final class FaultView {
    static final String NO_VALID_HOST = "No valid host was found. There are not enough hosts available.";
    static final String A_HOST = "a compute host";

    private FaultView() {
    }

    /**
     * @param hostNames every host name a message could hold, asked for only when a non-admin's
     *     message needs them
     */
    static Map<String, Object> of(Server.Fault fault, Instant created, boolean admin,
                                  Supplier<Collection<String>> hostNames) {
        boolean noValidHost = fault.code().equals("NoValidHost");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("code", noValidHost ? 500 : 400);
        m.put("created", Views.time(created));
        if (admin) {
            m.put("message", fault.message());
            m.put("details", fault.code());
        } else {
            m.put("message", noValidHost ? NO_VALID_HOST : withoutHosts(fault.message(), hostNames.get()));
        }
        return m;
    }

    /** {@code message} with each of {@code hosts} that stands as a whole name replaced by {@value #A_HOST}. */
    static String withoutHosts(String message, Collection<String> hosts) {
        String out = message;
        for (String h : hosts.stream().filter(h -> h != null && !h.isBlank()).distinct()
                .sorted(Comparator.comparingInt(String::length).reversed()).toList()) {
            out = Pattern.compile("(?<![A-Za-z0-9_.-])" + Pattern.quote(h) + "(?![A-Za-z0-9_-])").matcher(out)
                    .replaceAll(Matcher.quoteReplacement(A_HOST));
        }
        return out;
    }
}
