package io.stratus.scheduler.identity;

import io.stratus.api.BoundedCache;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Password checks at the same cost whether or not the user exists, and without paying 600,000
 * PBKDF2 iterations for a login that succeeded a moment ago.
 *
 * <p>A login for an unknown user hashes against a dummy hash at today's iterations, as a wrong
 * password does, so response times do not tell which users exist. A successful check is
 * remembered for {@code remember} in a bounded cache (as the image service remembers token checks),
 * keyed by an HMAC, under a key made at start-up and kept in memory only, of the user, its stored
 * hash and the password: a new password (a new stored hash) never matches an old entry, and the
 * cache holds no password nor anything a guess can be checked against without that key.
 */
final class PasswordCheck {
    private static final int REMEMBERED = 1_000;
    /**
     * A hash at today's iterations of a random password nobody kept, made once offline: checking
     * against it costs what checking a real password does, from the first request on, and costs
     * nothing at start-up.
     */
    static final String DUMMY = "pbkdf2-sha256$600000$eCeij56w9m2rSOo3QqTdAA$QVEBx78UwSdSQ7D5xVabn3zyyouGRpLRYhRfjgkYoHY";

    private final byte[] key = new byte[32];
    private final Duration remember;
    private final BoundedCache<String, Boolean> verified = new BoundedCache<>(REMEMBERED);
    private final AtomicLong iterationsSpent = new AtomicLong();

    PasswordCheck(Duration remember) {
        new SecureRandom().nextBytes(key);
        this.remember = remember;
    }

    /** Whether {@code password} is the one {@code stored} was made from. */
    boolean matches(String accountId, String password, String stored, Instant now) {
        String k = mac(accountId, stored, password);
        if (verified.get(k, now).isPresent()) {
            return true;
        }
        boolean ok = verify(password, stored);
        if (ok) {
            verified.put(k, Boolean.TRUE, now.plus(remember));
        }
        return ok;
    }

    /** The full work of a check, answered no whatever: for unknown and locked users. */
    void spend(String password, String stored) {
        verify(password, stored == null ? DUMMY : stored);
    }

    /** PBKDF2 iterations spent on checks so far: what makes checks cost the same is what tests count. */
    long iterationsSpent() {
        return iterationsSpent.get();
    }

    private boolean verify(String password, String stored) {
        iterationsSpent.addAndGet(PasswordHash.iterations(stored));
        return PasswordHash.matches(password, stored);
    }

    private String mac(String accountId, String stored, String password) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            for (String part : new String[] {accountId, stored, password}) {
                byte[] b = part.getBytes(StandardCharsets.UTF_8);
                mac.update(new byte[] {(byte) (b.length >>> 24), (byte) (b.length >>> 16), (byte) (b.length >>> 8),
                        (byte) b.length});
                mac.update(b);
            }
            return HexFormat.of().formatHex(mac.doFinal());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }
}
