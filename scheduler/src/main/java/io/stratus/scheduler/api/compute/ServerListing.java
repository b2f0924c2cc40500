package io.stratus.scheduler.api.compute;

import io.stratus.api.ApiException;
import io.stratus.api.BoundedMatch;
import io.stratus.api.auth.Caller;
import io.stratus.proto.v1.InstanceState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerStore;
import jakarta.ws.rs.core.MultivaluedMap;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * A server listing as Nova's {@code GET /servers[/detail]} answers it: the filters (name as a
 * regular expression, status, flavor, image, host and all_tenants for admins, changes-since, ip
 * and ip6 against the server's addresses), newest first, paged by {@code limit} and {@code marker}
 * with a next link when a page is full.
 *
 * @param servers the page
 * @param next    the query string of the next page, when this one is full
 */
record ServerListing(List<Server> servers, Optional<String> next) {
    /** Nova's {@code osapi_max_limit}: no page is longer. */
    static final int MAX_LIMIT = 1000;

    /** @param fixedIps a server's fixed addresses, for the ip and ip6 filters */
    static ServerListing of(ServerStore store, Caller caller, MultivaluedMap<String, String> params,
                            Function<String, List<String>> fixedIps) {
        boolean all = flag(params.getFirst("all_tenants"));
        String host = params.getFirst("host");
        if ((all || host != null) && !caller.isAdmin()) {
            throw ApiException.forbidden("Policy doesn't allow listing other projects' servers or by host: it needs"
                    + " the admin role.");
        }
        int limit = limit(params.getFirst("limit"));
        Optional<Instant> changedSince = Optional.ofNullable(params.getFirst("changes-since"))
                .map(ServerListing::changesSince);
        Optional<InstanceState> state = Optional.empty();
        String status = params.getFirst("status");
        if (status != null) {
            InstanceState st = Views.stateOfStatus(status);
            if (st == null) {
                // Nova answers an unknown status with an empty list rather than an error.
                return new ServerListing(List.of(), Optional.empty());
            }
            state = Optional.of(st);
        }
        String name = params.getFirst("name");
        BoundedMatch namePattern = name == null ? null : BoundedMatch.of(name, "name");
        boolean byAddress = params.containsKey("ip") || params.containsKey("ip6");
        List<Server> found = new ArrayList<>(store.list(new ServerStore.Query(
                all ? Optional.empty() : Optional.of(caller.projectId()), state, Optional.ofNullable(host),
                Optional.ofNullable(params.getFirst("flavor")).map(ServersResource::lastSegment),
                Optional.ofNullable(params.getFirst("image")).map(ServersResource::lastSegment), changedSince)));
        if (namePattern != null) {
            found.removeIf(s -> !namePattern.find(s.name()));
        }
        if (byAddress) {
            // Nova matches ip and ip6 as regular expressions against the server's fixed addresses.
            BoundedMatch v4 = params.containsKey("ip") ? BoundedMatch.of(params.getFirst("ip"), "ip") : null;
            BoundedMatch v6 = params.containsKey("ip6") ? BoundedMatch.of(params.getFirst("ip6"), "ip6") : null;
            found.removeIf(s -> {
                List<String> ips = fixedIps.apply(s.id());
                return (v4 != null && ips.stream().noneMatch(ip -> !ip.contains(":") && v4.find(ip)))
                        || (v6 != null && ips.stream().noneMatch(ip -> ip.contains(":") && v6.find(ip)));
            });
        }
        String marker = params.getFirst("marker");
        if (marker != null) {
            Iterator<Server> it = found.iterator();
            boolean seen = false;
            while (it.hasNext() && !seen) {
                seen = it.next().id().equals(marker);
                it.remove();
            }
            if (!seen) {
                throw ApiException.badRequest("marker [" + marker + "] not found");
            }
        }
        List<Server> page = List.copyOf(found.subList(0, Math.min(limit, found.size())));
        // As Nova: a full page links to the next one, which may turn out empty.
        Optional<String> next = page.isEmpty() || page.size() < limit ? Optional.empty()
                : Optional.of(nextQuery(params, page.get(page.size() - 1).id(), limit));
        return new ServerListing(page, next);
    }

    /** The body's {@code servers_links} when there is a next page. */
    void addLinks(Map<String, Object> body, String url) {
        next.ifPresent(q -> body.put("servers_links", List.of(Map.of("rel", "next", "href", url + "?" + q))));
    }

    private static String nextQuery(MultivaluedMap<String, String> params, String lastId, int limit) {
        StringBuilder q = new StringBuilder();
        for (Map.Entry<String, List<String>> e : params.entrySet()) {
            if (e.getKey().equals("marker") || e.getKey().equals("limit")) {
                continue;
            }
            for (String v : e.getValue()) {
                q.append(encode(e.getKey())).append('=').append(encode(v)).append('&');
            }
        }
        return q.append("limit=").append(limit).append("&marker=").append(lastId).toString();
    }

    private static String encode(String s) {
        return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static boolean flag(String v) {
        return v != null && !v.equalsIgnoreCase("false") && !v.equals("0");
    }

    private static int limit(String v) {
        if (v == null) {
            return MAX_LIMIT;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n < 0) {
                throw ApiException.badRequest("limit must be 0 or more, not " + v);
            }
            return (int) Math.min(n, MAX_LIMIT);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("limit must be an integer, not '" + v + "'");
        }
    }

    /** ISO 8601, with or without an offset (UTC then), as Nova's parse_isotime takes it. */
    static Instant changesSince(String v) {
        String t = v.trim();
        try {
            return OffsetDateTime.parse(t).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return LocalDateTime.parse(t).toInstant(ZoneOffset.UTC);
            } catch (DateTimeParseException again) {
                throw ApiException.badRequest("Invalid filter field: changes-since: '" + v + "' is not an ISO 8601"
                        + " time (e.g. 2026-12-06T17:00:00Z)");
            }
        }
    }
}
