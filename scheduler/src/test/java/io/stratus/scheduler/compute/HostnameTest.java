package io.stratus.scheduler.compute;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Hostnames as Nova makes them: the cases of Nova's own {@code nova/tests/unit/test_utils.py}
 * (test_hostname_*), and results of its {@code sanitize_hostname} run under Python 3.11.
 */
class HostnameTest {
    @Test
    void sanitizesAsNovasOwnTests() {
        assertThat(Hostname.sanitize("\u7684myamazinghostname")).isEqualTo("myamazinghostname");
        assertThat(Hostname.sanitize("....test.example.com...")).isEqualTo("test-example-com");
        assertThat(Hostname.sanitize("----my-amazing-hostname---")).isEqualTo("my-amazing-hostname");
        assertThat(Hostname.sanitize("(#@&$!(@*--#&91)(__=+--test-host.example!!.com-0+"))
                .isEqualTo("91----test-host-example-com-0");
        assertThat(Hostname.sanitize("<}\u001fh\u0010e\u0008l\u0002l\u0005o\u0012!{>")).isEqualTo("hello");
        assertThat(Hostname.sanitize("\u7684")).isEmpty();
    }

    @Test
    void keepsLatinLettersAndNumbersAndCutsAt63AsPython() {
        assertThat(Hostname.sanitize("web server_1.example")).isEqualTo("web-server-1-example");
        assertThat(Hostname.sanitize("..Ünïcödé--")).isEqualTo("ünïcödé");
        assertThat(Hostname.sanitize("²½x")).isEqualTo("²½x");
        assertThat(Hostname.sanitize("Hello, World!")).isEqualTo("hello-world");
        assertThat(Hostname.sanitize("a".repeat(70))).isEqualTo("a".repeat(63));
        // Cut before the dashes go: a name cut at a dash loses it.
        assertThat(Hostname.sanitize("a".repeat(62) + "-b")).isEqualTo("a".repeat(62));
    }

    @Test
    void aNameWithNothingLeftIsServerAndItsIdAndSeveralAreNumbered() {
        assertThat(Hostname.of("日本語", "0d4c", 0, 1)).isEqualTo("Server-0d4c");
        assertThat(Hostname.of("web", "0d4c", 0, 1)).isEqualTo("web");
        assertThat(Hostname.of("Web Node", "0d4c", 1, 3)).isEqualTo("web-node-2");
        // Nova numbers a nameless one's hostname no further: its id tells them apart.
        assertThat(Hostname.of("日本語", "0d4c", 1, 3)).isEqualTo("Server-0d4c");
    }
}
