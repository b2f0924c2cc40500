package io.stratus.scheduler.hosts;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ServiceStatusTest {
    private static final Optional<String> AGENT = Optional.of("no hypervisor driver works here");

    @Test
    void aHostNobodyDisabledIsEnabledWithoutAReason() {
        assertThat(ServiceStatus.of(false, Optional.empty(), Optional.empty())).isEqualTo(ServiceStatus.ENABLED);
        assertThat(ServiceStatus.ENABLED.status()).isEqualTo("enabled");
    }

    @Test
    void theOperatorsReasonWinsWhenTheOperatorDisabledTheHost() {
        ServiceStatus s = ServiceStatus.of(true, Optional.of("rack move"), AGENT);
        assertThat(s).isEqualTo(new ServiceStatus(true, Optional.of("rack move")));
        assertThat(s.status()).isEqualTo("disabled");
        assertThat(ServiceStatus.of(true, Optional.of("rack move"), Optional.empty()))
                .isEqualTo(new ServiceStatus(true, Optional.of("rack move")));
    }

    @Test
    void aHostItsAgentReportsUnusableIsDisabledWithTheAgentsReasonWhateverTheOperatorSet() {
        assertThat(ServiceStatus.of(false, Optional.empty(), AGENT)).isEqualTo(new ServiceStatus(true, AGENT));
        // An operator who disabled it without saying why does not hide the agent's reason.
        assertThat(ServiceStatus.of(true, Optional.of(""), AGENT)).isEqualTo(new ServiceStatus(true, AGENT));
        assertThat(ServiceStatus.of(true, Optional.empty(), AGENT)).isEqualTo(new ServiceStatus(true, AGENT));
    }

    @Test
    void anOperatorsDisableWithoutAReasonKeepsItsEmptyReason() {
        assertThat(ServiceStatus.of(true, Optional.of(""), Optional.empty()))
                .isEqualTo(new ServiceStatus(true, Optional.of("")));
    }
}
