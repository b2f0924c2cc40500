package io.stratus.kvm.memory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The host's KSM (kernel samepage merging) as {@code /sys/kernel/mm/ksm} shows it: what the
 * scanner has merged across every process, and the scanner's settings. Guest memory is
 * {@code MADV_MERGEABLE} by default; the scanner only merges it while {@code run} is 1.
 */
public final class KsmHost {
    private static final long PAGE = 4096;
    private final Path dir;

    /** Host-wide figures, in pages as the kernel counts them. */
    public record Figures(boolean running, long pagesShared, long pagesSharing, long pagesUnshared,
                          long pagesVolatile, long fullScans, long zeroPages) {
        /** Host memory merging saves: every mapping of a merged page beyond the first, and merged zero pages. */
        public long savedBytes() {
            return (pagesSharing + zeroPages) * PAGE;
        }
    }

    /**
     * The scanner's settings.
     *
     * @param run 0 stopped, 1 running (2, unmerge everything, is not offered: it touches every process)
     * @param pagesToScan pages scanned per wake-up
     * @param sleepMillis sleep between wake-ups
     */
    public record Settings(int run, int pagesToScan, int sleepMillis) {
        public Settings {
            if (run != 0 && run != 1) {
                throw new IllegalArgumentException("KSM run must be 0 or 1, not " + run);
            }
            if (pagesToScan < 1 || sleepMillis < 0) {
                throw new IllegalArgumentException("KSM needs pages_to_scan >= 1 and sleep_millisecs >= 0");
            }
        }
    }

    /** Settings applied for a while; {@link #close()} puts the previous ones back. */
    public final class SettingsOverride implements AutoCloseable {
        private final Settings previous;

        private SettingsOverride(Settings previous) {
            this.previous = previous;
        }

        public Settings previous() {
            return previous;
        }

        @Override
        public void close() {
            apply(previous);
        }
    }

    KsmHost(Path dir) {
        this.dir = dir;
    }

    public static KsmHost system() {
        return new KsmHost(Path.of("/sys/kernel/mm/ksm"));
    }

    public boolean isAvailable() {
        return Files.isRegularFile(dir.resolve("run"));
    }

    public Figures figures() {
        return new Figures(read("run") == 1, read("pages_shared"), read("pages_sharing"), read("pages_unshared"),
                read("pages_volatile"), read("full_scans"),
                Files.exists(dir.resolve("ksm_zero_pages")) ? read("ksm_zero_pages") : 0);
    }

    public Settings settings() {
        return new Settings((int) read("run"), (int) read("pages_to_scan"), (int) read("sleep_millisecs"));
    }

    /** Writes the scanner's settings (needs root). */
    public void apply(Settings settings) {
        write("pages_to_scan", settings.pagesToScan());
        write("sleep_millisecs", settings.sleepMillis());
        write("run", settings.run());
    }

    /** Applies {@code settings} until the returned handle is closed. */
    public SettingsOverride override(Settings settings) {
        SettingsOverride o = new SettingsOverride(settings());
        apply(settings);
        return o;
    }

    private long read(String name) {
        Path p = dir.resolve(name);
        try {
            return Long.parseLong(Files.readString(p).trim());
        } catch (NoSuchFileException e) {
            throw new MemoryAccountingException("KSM is not available on this host (no " + p
                    + "; the kernel needs CONFIG_KSM)", e);
        } catch (IOException | NumberFormatException e) {
            throw new MemoryAccountingException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    private void write(String name, long value) {
        Path p = dir.resolve(name);
        try {
            Files.writeString(p, Long.toString(value));
        } catch (IOException e) {
            throw new MemoryAccountingException("cannot write " + p + " (changing KSM settings needs root): "
                    + e.getMessage(), e);
        }
    }
}
