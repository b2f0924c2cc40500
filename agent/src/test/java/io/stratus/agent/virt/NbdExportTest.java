package io.stratus.agent.virt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NbdExportTest {
    @Test
    void aTcpUriGivesItsHostPortAndExport() {
        assertThat(NbdExport.parse("nbd://10.0.0.5:10900/volume-1"))
                .isEqualTo(new NbdExport("10.0.0.5", 10900, Optional.empty(), "volume-1"));
    }

    @Test
    void aTcpUriWithoutAPortUsesTheProtocolsOwn() {
        assertThat(NbdExport.parse("nbd://storage.example/v").port()).isEqualTo(NbdExport.DEFAULT_PORT);
    }

    @Test
    void anIpv6HostLosesItsBrackets() {
        assertThat(NbdExport.parse("nbd://[fd00::5]:10809/v").host()).isEqualTo("fd00::5");
    }

    @Test
    void aUnixUriGivesItsSocketAndExport() {
        NbdExport e = NbdExport.parse("nbd+unix:///vol%201?socket=/run/stratus/nbd.sock");
        assertThat(e.socket()).hasValue(Path.of("/run/stratus/nbd.sock"));
        assertThat(e.name()).isEqualTo("vol 1");
        assertThat(e.host()).isEmpty();
    }

    @Test
    void anEmptyPathIsTheServersDefaultExport() {
        assertThat(NbdExport.parse("nbd://host").name()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "vol-1", "http://host/vol", "nbds://host/vol", "nbd:///vol", "nbd://host/v?socket=/x",
        "nbd+unix://host/v?socket=/s", "nbd+unix:///v", "nbd+unix:///v?socket=relative", "nbd://host/a%0Ab",
        "nbd://ho st/v"})
    void whatIsNoUsableNbdUriIsRefusedWithVolumeUnusable(String uri) {
        assertThatThrownBy(() -> NbdExport.parse(uri)).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.code()).isEqualTo("VolumeUnusable"));
    }
}
