package io.stratus.scheduler.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.proto.v1.WatchdogAction;
import io.stratus.scheduler.exception.InvalidRequest;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WatchdogPolicyTest {
    @Test
    void nothingSetAndDisabledMeanNoDevice() {
        assertThat(WatchdogPolicy.of(Map.of(), Map.of())).isEqualTo(WatchdogAction.WATCHDOG_ACTION_UNSPECIFIED);
        assertThat(WatchdogPolicy.of(Map.of(), Map.of("hw_watchdog_action", "disabled")))
                .isEqualTo(WatchdogAction.WATCHDOG_ACTION_UNSPECIFIED);
    }

    @Test
    void novasNamesAreTheActions() {
        assertThat(WatchdogPolicy.of(Map.of(), Map.of("hw_watchdog_action", "reset")))
                .isEqualTo(WatchdogAction.WATCHDOG_RESET);
        assertThat(WatchdogPolicy.of(Map.of(), Map.of("hw_watchdog_action", "Pause")))
                .isEqualTo(WatchdogAction.WATCHDOG_PAUSE);
        assertThat(WatchdogPolicy.of(Map.of(), Map.of("hw_watchdog_action", "poweroff")))
                .isEqualTo(WatchdogAction.WATCHDOG_POWEROFF);
        assertThat(WatchdogPolicy.of(Map.of(), Map.of("hw_watchdog_action", "none")))
                .isEqualTo(WatchdogAction.WATCHDOG_NONE);
        assertThat(WatchdogPolicy.novaName(WatchdogAction.WATCHDOG_POWEROFF)).isEqualTo("poweroff");
    }

    @Test
    void theFlavorsExtraSpecWinsOverTheImage() {
        assertThat(WatchdogPolicy.of(Map.of("hw:watchdog_action", "pause"), Map.of("hw_watchdog_action", "reset")))
                .isEqualTo(WatchdogAction.WATCHDOG_PAUSE);
        assertThat(WatchdogPolicy.of(Map.of("hw:watchdog_action", "disabled"), Map.of("hw_watchdog_action", "reset")))
                .isEqualTo(WatchdogAction.WATCHDOG_ACTION_UNSPECIFIED);
    }

    @Test
    void aValueNovaDoesNotKnowIsRefusedWithTheNames() {
        assertThatThrownBy(() -> WatchdogPolicy.of(Map.of(), Map.of("hw_watchdog_action", "reboot")))
                .isInstanceOf(InvalidRequest.class).hasMessageContaining("hw_watchdog_action is 'reboot'")
                .hasMessageContaining("disabled, none, reset, poweroff, pause");
    }
}
