package io.stratus.agent.telemetry;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.stratus.agent.command.CommandHandler;
import io.stratus.proto.v1.WatchdogAction;
import java.util.Locale;

/**
 * Guests' watchdog firings on /metrics ({@code stratus_watchdog_fired_total}), by the action the
 * agent took (Nova's names: reset, poweroff, pause, none).
 */
public final class WatchdogMeters {
    private WatchdogMeters() {
    }

    public static void register(MeterRegistry registry, CommandHandler handler, String host) {
        for (WatchdogAction a : WatchdogAction.values()) {
            if (a == WatchdogAction.WATCHDOG_ACTION_UNSPECIFIED || a == WatchdogAction.UNRECOGNIZED) {
                continue;
            }
            FunctionCounter.builder("stratus.watchdog.fired", handler, h -> h.watchdogFirings(a))
                    .description("guest watchdog firings the agent handled").tag("host", host)
                    .tag("action", novaName(a)).register(registry);
        }
    }

    /** The action as Nova's hw:watchdog_action names it. */
    static String novaName(WatchdogAction a) {
        return a.name().substring("WATCHDOG_".length()).toLowerCase(Locale.ROOT);
    }
}
