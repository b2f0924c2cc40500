package io.stratus.cli;

import java.nio.file.Path;
import java.util.Locale;

/** What a client may ask of a running {@code stratus vm run} through its control socket: one line each. */
sealed interface ControlRequest {
    String USAGE = "commands: status | pause | resume | snapshot DIR | balloon [SIZE] | stop";

    /** State, memory, balloon and host memory figures as key=value lines. */
    record Status() implements ControlRequest {
    }

    record Pause() implements ControlRequest {
    }

    record Resume() implements ControlRequest {
    }

    /** Snapshot into {@code dir}; a running guest is paused for it and resumed after. */
    record Snapshot(Path dir) implements ControlRequest {
    }

    /** Sets the balloon target: the guest gives this much of its memory back to the host. */
    record Balloon(long bytes) implements ControlRequest {
    }

    /** The balloon's figures alone: cheap enough to poll, unlike status, which walks guest RAM's page tables. */
    record BalloonQuery() implements ControlRequest {
    }

    record Stop() implements ControlRequest {
    }

    /** Parses one request line. */
    static ControlRequest parse(String line) {
        String[] words = line.trim().split("\\s+", 2);
        String verb = words[0].toLowerCase(Locale.ROOT);
        String arg = words.length > 1 ? words[1].trim() : "";
        ControlRequest request = switch (verb) {
            case "status" -> new Status();
            case "pause" -> new Pause();
            case "resume" -> new Resume();
            case "stop" -> new Stop();
            case "snapshot" -> {
                if (arg.isEmpty()) {
                    throw new ControlException("snapshot needs a directory: snapshot DIR");
                }
                yield new Snapshot(Path.of(arg));
            }
            case "balloon" -> {
                if (arg.isEmpty()) {
                    yield new BalloonQuery();
                }
                // Zero in any unit deflates; MemorySize itself refuses zero, which is no guest size.
                yield new Balloon(arg.matches("0+[A-Za-z]*") ? 0 : parseSize(arg));
            }
            default -> throw new ControlException("unknown command '" + words[0] + "'; " + USAGE);
        };
        boolean takesArgument = request instanceof Snapshot || request instanceof Balloon;
        if (!takesArgument && !arg.isEmpty()) {
            throw new ControlException(verb + " takes no argument");
        }
        return request;
    }

    private static long parseSize(String text) {
        try {
            return MemorySize.parse(text);
        } catch (picocli.CommandLine.TypeConversionException e) {
            throw new ControlException(e.getMessage());
        }
    }

    /** A request the server cannot carry out, with the reason a user can act on. */
    final class ControlException extends RuntimeException {
        ControlException(String message) {
            super(message);
        }
    }
}
