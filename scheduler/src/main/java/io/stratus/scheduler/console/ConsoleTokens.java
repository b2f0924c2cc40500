package io.stratus.scheduler.console;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Nova's console authorization tokens: random, bound to one instance, valid for a short time and
 * good for one connection. They are held in this replica's memory, not the database: a token is
 * redeemed within seconds by the client it was given to, at the replica whose URL it carries (see
 * the module README for what this means behind a load balancer).
 */
public final class ConsoleTokens {
    /** Nova's {@code [consoleauth] token_ttl} default. */
    public static final Duration DEFAULT_LIFETIME = Duration.ofMinutes(10);

    private final Clock clock;
    private final Duration lifetime;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, ConsoleGrant> issued = new ConcurrentHashMap<>();

    public ConsoleTokens(Clock clock, Duration lifetime) {
        this.clock = clock;
        this.lifetime = lifetime;
    }

    /** A new token for {@code instanceId}'s console. */
    public String issue(String instanceId) {
        Instant now = clock.instant();
        issued.values().removeIf(g -> !g.expires().isAfter(now));
        byte[] bytes = new byte[24];
        random.nextBytes(bytes);
        String token = HexFormat.of().formatHex(bytes);
        issued.put(token, new ConsoleGrant(instanceId, now.plus(lifetime)));
        return token;
    }

    /** The grant of {@code token} if it was issued, is unused and has not expired; using it spends it. */
    public Optional<ConsoleGrant> redeem(String token) {
        if (token == null) {
            return Optional.empty();
        }
        ConsoleGrant grant = issued.remove(token);
        return grant != null && grant.expires().isAfter(clock.instant()) ? Optional.of(grant) : Optional.empty();
    }

    /** What a token lets its holder reach. */
    public record ConsoleGrant(String instanceId, Instant expires) {
    }
}
