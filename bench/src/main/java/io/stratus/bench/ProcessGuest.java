package io.stratus.bench;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A guest running in its own VMM process (QEMU, or {@code stratus vm run}) for as long as a
 * benchmark needs it, its console timed line by line. Closing it stops the process.
 */
final class ProcessGuest implements AutoCloseable {
    private final String vmm;
    private final Process process;
    private final ConsoleTimeline console;

    private ProcessGuest(String vmm, Process process, ConsoleTimeline console) {
        this.vmm = vmm;
        this.process = process;
        this.console = console;
    }

    /** Starts {@code command}, stdin from /dev/null, stdout and stderr together as the console. */
    static ProcessGuest start(String vmm, List<String> command) throws IOException {
        long start = System.nanoTime();
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(new File("/dev/null")).start();
        ConsoleTimeline console = new ConsoleTimeline(start);
        Thread pump = new Thread(() -> ProcessVmm.pump(p.getInputStream(), console), vmm + "-console");
        pump.setDaemon(true);
        pump.start();
        return new ProcessGuest(vmm, p, console);
    }

    ConsoleTimeline console() {
        return console;
    }

    long pid() {
        return process.pid();
    }

    /** Waits for a console line with {@code marker}; fails with the console's last lines. */
    void await(String marker, Duration limit) throws InterruptedException {
        if (!console.await(marker, limit.toMillis())) {
            throw new IllegalStateException(vmm + ": no " + marker + " on the console within " + limit
                    + (process.isAlive() ? "" : " (exited with " + process.exitValue() + ")") + ":\n" + console.tail(15));
        }
    }

    /** The process's resident set (VmRSS), in bytes. */
    long rssBytes() throws IOException {
        return rssBytes(process.pid());
    }

    /** A process's resident set (VmRSS), in bytes. */
    static long rssBytes(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS for process " + pid);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
    }
}
