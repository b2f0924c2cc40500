package io.stratus.scheduler.service;

import io.stratus.database.PrivateFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The first administrator's password. There is no default one: a scheduler started without
 * {@code stratus.scheduler.admin.password} on an empty database generates one and writes it to
 * {@code <data-dir>/admin-password} (0600 in a 0700 directory), logging where it is and never
 * the password itself. Keystone's bootstrap refuses to run without a password; generating one
 * instead keeps a bare {@code java -jar} start working while leaving nothing guessable.
 */
public final class AdminPassword {
    private static final Logger LOG = Logger.getLogger(AdminPassword.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    static final String FILE = "admin-password";

    private AdminPassword() {
    }

    /** The configured password when there is one, else a new one written to {@code dataDir}. */
    public static String configuredOrWritten(Optional<String> configured, Path dataDir) {
        if (configured.isPresent() && !configured.get().isBlank()) {
            return configured.get();
        }
        byte[] bytes = new byte[18];
        RANDOM.nextBytes(bytes);
        String password = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        Path file = dataDir.resolve(FILE);
        try {
            PrivateFiles.directory(dataDir);
            PrivateFiles.write(file, (password + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("no admin password is configured (stratus.scheduler.admin.password or"
                    + " STRATUS_SCHEDULER_ADMIN_PASSWORD) and the generated one cannot be written to " + file, e);
        }
        LOG.warnf("no admin password is configured (stratus.scheduler.admin.password): the first administrator's"
                + " generated password is in %s (readable by this user only)", file.toAbsolutePath());
        return password;
    }
}
