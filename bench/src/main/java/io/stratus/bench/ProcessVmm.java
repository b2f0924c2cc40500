package io.stratus.bench;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** A VMM that runs each guest as its own process (QEMU, or Stratus' own CLI), console on stdout. */
public final class ProcessVmm implements Vmm {
    private final String name;
    private final Function<GuestSpec, List<String>> command;

    public ProcessVmm(String name, Function<GuestSpec, List<String>> command) {
        this.name = name;
        this.command = command;
    }

    @Override
    public String name() {
        return name;
    }

    public List<String> command(GuestSpec guest) {
        return command.apply(guest);
    }

    @Override
    public GuestRun run(GuestSpec guest, Duration limit) throws Exception {
        List<String> cmd = new ArrayList<>(command.apply(guest));
        long start = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        ConsoleTimeline console = new ConsoleTimeline(start);
        Thread reader = new Thread(() -> pump(p.getInputStream(), console), name + "-console");
        reader.setDaemon(true);
        reader.start();
        boolean ended = p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
        double exit = ended ? (System.nanoTime() - start) / 1e9 : Double.NaN;
        if (!ended) {
            p.destroyForcibly();
            p.waitFor();
        }
        reader.join(5000);
        return new GuestRun(console, exit, ended ? "exit code " + p.exitValue() : "killed after " + limit);
    }

    static void pump(InputStream in, ConsoleTimeline console) {
        byte[] buf = new byte[4096];
        try (in) {
            int n;
            while ((n = in.read(buf)) > 0) {
                console.write(buf, 0, n);
            }
        } catch (IOException e) {
            // The process is gone.
        }
    }
}
