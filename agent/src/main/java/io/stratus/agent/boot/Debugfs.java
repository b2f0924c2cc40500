package io.stratus.agent.boot;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * e2fsprogs' debugfs on one ext2/3/4 filesystem, read-only ({@code -c}: no bitmaps are read), one
 * request per run: the filesystem is read by the tool that writes it, not by code of ours. Output
 * goes to files in a scratch directory (no pipes to drain), and a run that does not end in
 * {@link #TIMEOUT} is killed: a hostile filesystem costs a boot, never a hung agent.
 */
final class Debugfs {
    static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final int MAX_ERROR_BYTES = 16 << 10;

    private final String program;
    private final String device;
    private final String what;
    private final Path scratch;

    /**
     * @param file    the image or partition copy holding the filesystem
     * @param offset  where the filesystem starts in it, in bytes
     * @param what    the filesystem as messages name it ("partition 1")
     * @param scratch a directory for the runs' output files
     */
    Debugfs(String program, Path file, long offset, String what, Path scratch) {
        this.program = program;
        // unix_io's "name?offset=N": debugfs reads the filesystem at that offset of the file.
        this.device = offset == 0 ? file.toString() : file + "?offset=" + offset;
        this.what = what;
        this.scratch = scratch;
    }

    /** What a request wrote: its standard output (in a file) and its error text, the banner left out. */
    record Output(Path out, String errors) {
    }

    /**
     * Runs {@code request} (a debugfs command line), its standard output written to {@code out}.
     *
     * @throws NotBootableException debugfs cannot open the filesystem, or does not finish in time
     */
    Output run(String request, Path out) throws IOException {
        Path err = Files.createTempFile(scratch, "debugfs-", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(List.of(program, "-c", "-R", request, device))
                    .redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            Map<String, String> env = pb.environment();
            env.put("DEBUGFS_PAGER", "__none__");
            env.put("PAGER", "__none__");
            env.put("LC_ALL", "C");
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new IOException("cannot run " + program + " (e2fsprogs): " + e.getMessage(), e);
            }
            boolean ended;
            try {
                ended = p.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while debugfs read " + what, e);
            }
            if (!ended) {
                p.destroyForcibly();
                throw new NotBootableException(what + ": debugfs did not finish reading its filesystem in "
                        + TIMEOUT.toSeconds() + " s");
            }
            String errors = errors(err);
            if (p.exitValue() != 0 || errors.contains("while trying to open") || errors.contains("Could not open")) {
                throw new NotBootableException(what + ": debugfs cannot open its filesystem: "
                        + firstLine(errors.replace(device, "the filesystem")));
            }
            return new Output(out, errors);
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static String errors(Path err) throws IOException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(err)) {
            bytes = in.readNBytes(MAX_ERROR_BYTES);
        }
        return new String(bytes, StandardCharsets.UTF_8).lines()
                .filter(l -> !l.startsWith("debugfs ") && !l.startsWith("catastrophic mode") && !l.isBlank())
                .map(String::strip).collect(Collectors.joining("\n"));
    }

    static String firstLine(String text) {
        return text.lines().findFirst().orElse("(no message)");
    }
}
