package io.stratus.image.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.stratus.api.BoundedCache;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Token checks against a real HTTP Identity endpoint (a small stand-in server that knows one
 * token), counting how often it is asked.
 */
class RemoteIdentityTest {
    private static final String GOOD = "good-token";
    private final Map<String, AtomicInteger> asked = new ConcurrentHashMap<>();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-07T00:00:00Z"));
    private HttpServer identity;
    private RemoteIdentity remote;

    @BeforeEach
    void start() throws Exception {
        identity = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        identity.createContext("/identity/v3/auth/tokens", exchange -> {
            String token = exchange.getRequestHeaders().getFirst("X-Subject-Token");
            asked.computeIfAbsent(token, t -> new AtomicInteger()).incrementAndGet();
            byte[] body = ("{\"token\": {\"user\": {\"id\": \"u\"}, \"project\": {\"id\": \"p\"}, \"roles\": [{\"name\":"
                    + " \"member\"}], \"expires_at\": \"2026-12-07T12:00:00Z\"}}").getBytes(StandardCharsets.UTF_8);
            if (GOOD.equals(token)) {
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            } else {
                exchange.sendResponseHeaders(404, -1);
            }
            exchange.close();
        });
        identity.start();
        remote = new RemoteIdentity("http://127.0.0.1:" + identity.getAddress().getPort() + "/identity/v3",
                Duration.ofSeconds(60), clock);
    }

    @AfterEach
    void stop() {
        identity.stop(0);
    }

    private int asked(String token) {
        return asked.getOrDefault(token, new AtomicInteger()).get();
    }

    @Test
    void aValidTokenIsAskedAboutOncePerCachePeriod() {
        assertThat(remote.caller(GOOD)).hasValueSatisfying(c -> assertThat(c.projectId()).isEqualTo("p"));
        assertThat(remote.caller(GOOD)).isPresent();
        assertThat(asked(GOOD)).isEqualTo(1);
        clock.now = clock.now.plusSeconds(61);
        assertThat(remote.caller(GOOD)).isPresent();
        assertThat(asked(GOOD)).isEqualTo(2);
    }

    @Test
    void aValidTokenIsNotRememberedPastItsExpiry() {
        clock.now = Instant.parse("2026-12-07T11:59:30Z");
        assertThat(remote.caller(GOOD)).isPresent();
        clock.now = Instant.parse("2026-12-07T12:00:00Z");
        remote.caller(GOOD);
        assertThat(asked(GOOD)).isEqualTo(2);
    }

    @Test
    void madeUpTokensFillOnlyTheirOwnSmallCacheAndNeverPushOutValidOnes() {
        assertThat(remote.caller(GOOD)).isPresent();
        int flood = RemoteIdentity.VALID_ENTRIES + 500;
        for (int i = 0; i < flood; i++) {
            assertThat(remote.caller("made-up-" + i)).isEmpty();
        }
        assertThat(remote.remembered()).containsExactly(1, RemoteIdentity.INVALID_ENTRIES);
        assertThat(remote.caller(GOOD)).isPresent();
        assertThat(asked(GOOD)).as("the valid token is still remembered").isEqualTo(1);
        // A refused token asked again soon is answered from the small cache.
        String recent = "made-up-" + (flood - 1);
        assertThat(remote.caller(recent)).isEmpty();
        assertThat(asked(recent)).isEqualTo(1);
    }

    @Test
    void overlongTokensAreRefusedWithoutAsking() {
        assertThat(remote.caller("x".repeat(300))).isEmpty();
        assertThat(asked).isEmpty();
    }

    @Test
    void aFullCacheDropsItsLeastRecentlyUsedEntryOnly() {
        BoundedCache<String, Integer> cache = new BoundedCache<>(3);
        Instant until = clock.now.plusSeconds(60);
        cache.put("a", 1, until);
        cache.put("b", 2, until);
        cache.put("c", 3, until);
        assertThat(cache.get("a", clock.now)).contains(1); // a is now the most recently used
        cache.put("d", 4, until);
        assertThat(cache.get("b", clock.now)).isEmpty();
        assertThat(cache.get("a", clock.now)).contains(1);
        assertThat(cache.get("c", clock.now)).contains(3);
        assertThat(cache.get("d", clock.now)).contains(4);
        assertThat(cache.get("d", until)).as("good until, not at, its instant").isEmpty();
        assertThat(cache.size()).isEqualTo(2);
    }

    private static final class MutableClock extends Clock {
        volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }
}
