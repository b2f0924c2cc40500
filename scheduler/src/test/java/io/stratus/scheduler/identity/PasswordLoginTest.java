package io.stratus.scheduler.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.database.Database;
import io.stratus.database.Sql;
import io.stratus.scheduler.exception.ComputeException;
import io.stratus.scheduler.exception.Unauthenticated;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Password logins on the real identity store (H2, the scheduler's migrations): OWASP's PBKDF2
 * iterations with old hashes upgraded, Keystone's lockout, and the same work for users that do not
 * exist as for wrong passwords.
 */
class PasswordLoginTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-07T00:00:00Z"));
    private Database db;
    private IdentityStore store;
    private Sql sql;

    @BeforeEach
    void start() {
        db = Database.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4);
        sql = new Sql(db.dataSource());
        store = new IdentityStore(db.dataSource(), clock, Duration.ofHours(12), new Lockout(3, Duration.ofMinutes(30)));
        store.bootstrap("admin", () -> "admin-pw", "admin");
    }

    @AfterEach
    void stop() {
        db.close();
    }

    private String storedHash() {
        return sql.one("SELECT password_hash FROM account WHERE name = 'admin'", r -> r.getString(1)).orElseThrow();
    }

    private void login(String user, String password) {
        store.authenticate(user, password, Optional.of("admin"));
    }

    private static void refused(Runnable login) {
        assertThatThrownBy(login::run).isInstanceOfSatisfying(Unauthenticated.class, e -> {
            assertThat(e.kind()).isEqualTo(ComputeException.Kind.UNAUTHENTICATED);
            assertThat(e.getMessage()).isEqualTo("The request you have made requires authentication.");
        });
    }

    @Test
    void passwordsAreHashedAtOwaspsIterationsAndOldHashesAreUpgradedOnLogin() {
        assertThat(storedHash()).startsWith("pbkdf2-sha256$600000$");
        String old = PasswordHash.hash("admin-pw", 60_000);
        sql.update("UPDATE account SET password_hash = ? WHERE name = 'admin'", old);
        login("admin", "admin-pw");
        assertThat(storedHash()).startsWith("pbkdf2-sha256$600000$").isNotEqualTo(old);
        assertThat(PasswordHash.matches("admin-pw", storedHash())).isTrue();
        login("admin", "admin-pw");
    }

    @Test
    void unknownUsersCostTheSameWorkAsWrongPasswordsAndRepeatedLoginsNone() {
        PasswordCheck check = store.passwords;
        long before = check.iterationsSpent();
        refused(() -> login("nobody", "guess"));
        long unknown = check.iterationsSpent() - before;
        before = check.iterationsSpent();
        refused(() -> login("admin", "guess"));
        long wrong = check.iterationsSpent() - before;
        assertThat(unknown).isEqualTo(wrong).isEqualTo(PasswordHash.ITERATIONS);
        assertThat(PasswordHash.iterations(PasswordCheck.DUMMY)).as("the dummy hash keeps up with the iterations")
                .isEqualTo(PasswordHash.ITERATIONS);
        login("admin", "admin-pw");
        before = check.iterationsSpent();
        login("admin", "admin-pw");
        assertThat(check.iterationsSpent() - before).as("a login that succeeded a moment ago is not hashed again")
                .isZero();
        // A new password is a new stored hash: the remembered check of the old one is no use.
        String id = store.account("admin").orElseThrow().id();
        store.updateUser(id, new IdentityStore.UserChange(Optional.empty(), Optional.of("new-pw"), Optional.empty(),
                Optional.empty()));
        refused(() -> login("admin", "admin-pw"));
        login("admin", "new-pw");
    }

    @Test
    void failedLoginsLockTheUserForTheDurationEvenWithTheRightPassword() {
        login("admin", "admin-pw"); // remembered as verified: the lock must hold regardless
        for (int i = 0; i < 3; i++) {
            refused(() -> login("admin", "wrong"));
        }
        long before = store.passwords.iterationsSpent();
        refused(() -> login("admin", "admin-pw"));
        assertThat(store.passwords.iterationsSpent() - before).as("a locked login costs a full check")
                .isEqualTo(PasswordHash.ITERATIONS);
        clock.now = clock.now.plus(Duration.ofMinutes(29));
        refused(() -> login("admin", "admin-pw"));
        clock.now = clock.now.plus(Duration.ofMinutes(2));
        login("admin", "admin-pw");
        // The count starts again after a success: two more failures do not lock.
        refused(() -> login("admin", "wrong"));
        refused(() -> login("admin", "wrong"));
        login("admin", "admin-pw");
    }

    @Test
    void enablingALockedUserUnlocksIt() {
        for (int i = 0; i < 3; i++) {
            refused(() -> login("admin", "wrong"));
        }
        refused(() -> login("admin", "admin-pw"));
        String id = store.account("admin").orElseThrow().id();
        store.updateUser(id, new IdentityStore.UserChange(Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.of(true)));
        login("admin", "admin-pw");
    }

    @Test
    void failuresFarApartDoNotAddUp() {
        for (int i = 0; i < 5; i++) {
            refused(() -> login("admin", "wrong"));
            clock.now = clock.now.plus(Duration.ofMinutes(31));
        }
        login("admin", "admin-pw");
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
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
