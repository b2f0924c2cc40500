package io.stratus.agent.boot;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;

/**
 * What a whole-disk image boots, found on it once and kept beside it in the image cache: the
 * kernel, the initrd (none when the boot configuration names none) and the kernel command line of
 * its boot loader, in one directory ({@code kernel}, {@code initrd}, {@code boot.properties}).
 *
 * @param origin where it was found, for logs ("partition 1 (ext4) /boot/grub/grub.cfg, entry 'Debian GNU/Linux'")
 */
public record BootFiles(Path kernel, Optional<Path> initrd, String cmdline, String origin) {
    static final String KERNEL = "kernel";
    static final String INITRD = "initrd";
    static final String PROPERTIES = "boot.properties";

    public BootFiles {
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(cmdline, "cmdline");
        Objects.requireNonNull(origin, "origin");
    }

    /** Writes the command line and origin beside the kernel and initrd already in {@code dir}. */
    static void write(Path dir, String cmdline, String origin) throws IOException {
        Properties p = new Properties();
        p.setProperty("cmdline", cmdline);
        p.setProperty("origin", origin);
        try (Writer w = Files.newBufferedWriter(dir.resolve(PROPERTIES), StandardCharsets.UTF_8)) {
            p.store(w, "what this whole-disk image boots (its kernel and initrd are beside this file)");
        }
    }

    /** The boot kept in {@code dir}. */
    static BootFiles read(Path dir) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(dir.resolve(PROPERTIES), StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the boot kept in " + dir, e);
        }
        Path initrd = dir.resolve(INITRD);
        return new BootFiles(dir.resolve(KERNEL), Files.isRegularFile(initrd) ? Optional.of(initrd) : Optional.empty(),
                p.getProperty("cmdline", ""), p.getProperty("origin", ""));
    }
}
