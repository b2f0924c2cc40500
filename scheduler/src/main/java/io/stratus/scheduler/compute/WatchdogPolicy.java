package io.stratus.scheduler.compute;

import io.stratus.proto.v1.WatchdogAction;
import io.stratus.scheduler.exception.InvalidRequest;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A server's watchdog device and what its firing does, as Nova reads it: the flavor's extra spec
 * {@code hw:watchdog_action} first, else the image property {@code hw_watchdog_action}; the values
 * are Nova's {@code disabled} (no device, also what nothing set means), {@code none}, {@code reset},
 * {@code poweroff} and {@code pause}.
 */
public final class WatchdogPolicy {
    public static final String EXTRA_SPEC = "hw:watchdog_action";
    public static final String IMAGE_PROPERTY = "hw_watchdog_action";

    private WatchdogPolicy() {
    }

    /**
     * The action for a server of a flavor with {@code extraSpecs} booted from an image with
     * {@code imageProperties}.
     *
     * @throws InvalidRequest a value that is none of Nova's names
     */
    public static WatchdogAction of(Map<String, String> extraSpecs, Map<String, String> imageProperties) {
        Optional<String> flavor = Optional.ofNullable(extraSpecs.get(EXTRA_SPEC));
        if (flavor.isPresent()) {
            return parse(EXTRA_SPEC, flavor.get());
        }
        return Optional.ofNullable(imageProperties.get(IMAGE_PROPERTY)).map(v -> parse(IMAGE_PROPERTY, v))
                .orElse(WatchdogAction.WATCHDOG_ACTION_UNSPECIFIED);
    }

    static WatchdogAction parse(String key, String value) {
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "disabled" -> WatchdogAction.WATCHDOG_ACTION_UNSPECIFIED;
            case "none" -> WatchdogAction.WATCHDOG_NONE;
            case "reset" -> WatchdogAction.WATCHDOG_RESET;
            case "poweroff" -> WatchdogAction.WATCHDOG_POWEROFF;
            case "pause" -> WatchdogAction.WATCHDOG_PAUSE;
            default -> throw new InvalidRequest(key + " is '" + value + "'; give one of disabled, none, reset,"
                    + " poweroff, pause");
        };
    }

    /** The action as Nova names it (the instance action's message, the metric's label). */
    public static String novaName(WatchdogAction action) {
        return action == WatchdogAction.WATCHDOG_ACTION_UNSPECIFIED ? "disabled"
                : action.name().substring("WATCHDOG_".length()).toLowerCase(Locale.ROOT);
    }
}
