package io.stratus.bench;

import java.time.Duration;

/** A VMM the benchmarks can run a guest on. */
public interface Vmm {
    /** The name in result tables, for example "qemu-microvm" or "stratus". */
    String name();

    /**
     * Runs {@code guest} until it exits or {@code limit} passes, with its console timed from the
     * moment the VMM was asked to start.
     */
    GuestRun run(GuestSpec guest, Duration limit) throws Exception;

    /** One run: the timed console and when (seconds after start) the guest was gone; NaN if it never ended. */
    record GuestRun(ConsoleTimeline console, double exitSeconds, String outcome) {
    }
}
