package io.stratus.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Resident memory of a process, per mapping, from /proc/PID/smaps. */
record Smaps(List<Mapping> mappings) {

    /** One mapping: start address, size and resident bytes. */
    record Mapping(long start, long size, long rss) {
    }

    static Smaps of(long pid) throws IOException {
        List<Mapping> out = new ArrayList<>();
        long start = -1;
        long size = 0;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps"))) {
            if (!line.isEmpty() && Character.digit(line.charAt(0), 16) >= 0 && line.contains("-")
                    && !line.contains(":  ")) {
                String range = line.substring(0, line.indexOf(' '));
                start = Long.parseUnsignedLong(range.substring(0, range.indexOf('-')), 16);
            } else if (line.startsWith("Size:")) {
                size = kb(line);
            } else if (line.startsWith("Rss:") && start >= 0) {
                out.add(new Mapping(start, size, kb(line)));
            }
        }
        return new Smaps(out);
    }

    private static long kb(String line) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]) * 1024;
    }

    /**
     * The guest RAM mapping of a VMM process running one guest of {@code guestBytes}: the mapping
     * closest in size to it (QEMU may add alignment; heaps and code caches are reserved larger).
     */
    Mapping guestRam(long guestBytes) {
        return mappings.stream().filter(m -> m.size() >= guestBytes).min((a, b) -> Long.compare(a.size(), b.size()))
                .orElseThrow(() -> new IllegalStateException("no mapping of " + (guestBytes >> 20) + " MiB or more"));
    }

    long totalRss() {
        return mappings.stream().mapToLong(Mapping::rss).sum();
    }
}
