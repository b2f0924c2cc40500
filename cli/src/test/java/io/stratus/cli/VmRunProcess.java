package io.stratus.cli;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs {@code stratus} in its own JVM, as bin/stratus does, and collects stdout, stderr and the exit code. */
record VmRunProcess(int exitCode, String stdout, String stderr) {

    /**
     * Starts {@code stratus args...} with stdin from /dev/null and SIGINT at its default, as a user's
     * shell starts it: a build run in the background (nohup, {@code &} in a script) ignores SIGINT,
     * children inherit that, and a JVM that starts with SIGINT ignored runs no shutdown hook on
     * Ctrl-C.
     */
    static Process start(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("env", "--default-signal=INT"));
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(StratusCli.class.getName());
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    }

    /** Runs {@code stratus args...} to completion within {@code limit}. */
    static VmRunProcess run(Duration limit, String... args) throws IOException, InterruptedException {
        Process p = start(args);
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()));
        if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("stratus " + String.join(" ", args) + " did not finish in " + limit);
        }
        return new VmRunProcess(p.exitValue(), out.join(), err.join());
    }

    static String drain(InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
