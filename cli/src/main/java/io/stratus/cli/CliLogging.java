package io.stratus.cli;

import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Log output of the command line: the VMM's log lines only with {@code --debug}, one line each;
 * otherwise the commands report what matters themselves.
 */
public final class CliLogging {
    private CliLogging() {
    }

    public static void configure(boolean debug) {
        System.setProperty("java.util.logging.SimpleFormatter.format", "stratus: %4$s: %5$s%6$s%n");
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        ConsoleHandler handler = new ConsoleHandler();
        handler.setFormatter(new SimpleFormatter());
        handler.setLevel(debug ? Level.ALL : Level.SEVERE);
        root.addHandler(handler);
        root.setLevel(debug ? Level.ALL : Level.SEVERE);
        Logger.getLogger("io.stratus").setLevel(debug ? Level.FINE : Level.SEVERE);
    }
}
