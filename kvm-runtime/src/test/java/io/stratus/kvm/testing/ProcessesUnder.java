package io.stratus.kvm.testing;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Processes whose arguments name a file under a directory: a test's agent leaves its qemu driver's
 * guests running when it stops (they outlive agents, as on a real host), and the test's host goes
 * with the test.
 */
public final class ProcessesUnder {
    private ProcessesUnder() {
    }

    /** Kills every process that names a path under {@code dir} in its arguments; returns how many. */
    public static int kill(Path dir) {
        String prefix = dir.toAbsolutePath().normalize() + "/";
        List<ProcessHandle> found = ProcessHandle.allProcesses().filter(p -> p.info().arguments()
                .map(args -> List.of(args).stream().anyMatch(a -> a.startsWith(prefix))).orElse(false)).toList();
        for (ProcessHandle p : found) {
            p.destroyForcibly();
        }
        for (ProcessHandle p : found) {
            try {
                p.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // Gone or not, there is nothing more a test can do about it.
            }
        }
        return found.size();
    }
}
