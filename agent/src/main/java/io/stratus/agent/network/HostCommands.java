package io.stratus.agent.network;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the kernel's tools (iproute2, nft, dnsmasq) for one host. A host is the network namespace
 * the agent runs in; tests name another, so that two namespaces act as two hosts in one process.
 */
public final class HostCommands {
    private static final long TIMEOUT_SECONDS = 30;
    private final List<String> prefix;

    private HostCommands(List<String> prefix) {
        this.prefix = List.copyOf(prefix);
    }

    /** Commands in the agent's own network namespace. */
    public static HostCommands local() {
        return new HostCommands(List.of());
    }

    /**
     * Commands in network namespace {@code namespace} (a simulated host). Through nsenter, not
     * {@code ip netns exec}: that one gives each command a mount namespace of its own, where the
     * mount of a namespace that {@code ip netns add} makes would stay, unseen by the next command.
     */
    public static HostCommands inNamespace(String namespace) {
        return new HostCommands(List.of("nsenter", "--net=/run/netns/" + namespace));
    }

    /** What a command printed (stdout and stderr together) and how it ended. */
    public record Outcome(int exitCode, String output) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /** Runs {@code command}; a non-zero exit throws with its output. */
    public String run(String... command) {
        return runWithInput(null, command);
    }

    /** Runs {@code command} with {@code input} on its standard input; a non-zero exit throws. */
    public String runWithInput(String input, String... command) {
        Outcome o = attemptInput(input, command);
        if (!o.ok()) {
            throw new NetworkException(String.join(" ", command) + " failed (" + o.exitCode() + "): " + o.output());
        }
        return o.output();
    }

    /** Runs {@code command}; the caller judges the outcome (for checks, and removals of what may be gone). */
    public Outcome attempt(String... command) {
        return attemptInput(null, command);
    }

    /** Runs {@code command} with {@code input} on its standard input; the caller judges the outcome. */
    public Outcome attemptInput(String input, String... command) {
        List<String> all = full(command);
        try {
            Process p = new ProcessBuilder(all).redirectErrorStream(true).start();
            if (input != null) {
                p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
            }
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return new Outcome(finish(p, all), out);
        } catch (IOException e) {
            return new Outcome(127, "cannot run " + all.get(0) + ": " + e.getMessage());
        }
    }

    /**
     * Runs a program that puts itself in the background (dnsmasq): its output goes to {@code log},
     * since the daemon may keep the descriptors it was given open long after the launcher exits.
     */
    public void runDaemon(Path log, String... command) {
        List<String> all = full(command);
        try {
            Process p = new ProcessBuilder(all).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            p.getOutputStream().close();
            int exit = finish(p, all);
            if (exit != 0) {
                throw new NetworkException(String.join(" ", command) + " failed (" + exit + "); see " + log);
            }
        } catch (IOException e) {
            throw new NetworkException("cannot run " + all.get(0) + ": " + e.getMessage(), e);
        }
    }

    /** The machine's named network namespaces ({@code ip netns list}: "name (id: 3)" per line). */
    List<String> namespaces() {
        return run("ip", "netns", "list").lines().map(l -> l.split(" ")[0]).filter(s -> !s.isEmpty()).toList();
    }

    private static int finish(Process p, List<String> all) {
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new NetworkException(String.join(" ", all) + " did not finish in " + TIMEOUT_SECONDS + " s");
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new NetworkException("interrupted running " + String.join(" ", all), e);
        }
    }

    private List<String> full(String... command) {
        List<String> all = new ArrayList<>(prefix);
        all.addAll(List.of(command));
        return all;
    }
}
