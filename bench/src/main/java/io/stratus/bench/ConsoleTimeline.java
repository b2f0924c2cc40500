package io.stratus.bench;

import io.stratus.kvm.devices.ConsoleSink;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A guest console split into lines, each stamped with the time it completed, relative to a
 * start instant. Both VMMs' consoles go through one, so markers are timed the same way.
 */
public final class ConsoleTimeline implements ConsoleSink {
    private final long startNanos;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final List<String> lines = new ArrayList<>();
    private final Map<String, Long> firstSeen = new ConcurrentHashMap<>();

    public ConsoleTimeline(long startNanos) {
        this.startNanos = startNanos;
    }

    @Override
    public synchronized void write(byte[] bytes, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (bytes[i] == '\n') {
                String text = line.toString(StandardCharsets.UTF_8).replace("\r", "");
                line.reset();
                lines.add(text);
                long at = System.nanoTime() - startNanos;
                for (String word : text.split("\\s+")) {
                    firstSeen.putIfAbsent(word, at);
                }
                firstSeen.putIfAbsent(text, at);
                notifyAll();
            } else {
                line.write(bytes[i]);
            }
        }
    }

    /** Seconds after the start at which a line containing {@code marker} as a word (or whole line) ended; NaN if never. */
    public double secondsUntil(String marker) {
        Long at = firstSeen.get(marker);
        return at == null ? Double.NaN : at / 1e9;
    }

    /** Waits up to {@code timeoutMillis} for {@code marker}. */
    public synchronized boolean await(String marker, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (!firstSeen.containsKey(marker)) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
    }

    public synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    /** The last lines, for error messages. */
    public synchronized String tail(int count) {
        return String.join("\n", lines.subList(Math.max(0, lines.size() - count), lines.size()));
    }
}
