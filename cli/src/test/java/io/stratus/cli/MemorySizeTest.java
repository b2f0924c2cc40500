package io.stratus.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MemorySizeTest {
    @Test
    void parsesQemuStyleSizes() {
        assertThat(MemorySize.parse("256")).isEqualTo(256L << 20);
        assertThat(MemorySize.parse("256M")).isEqualTo(256L << 20);
        assertThat(MemorySize.parse("256MiB")).isEqualTo(256L << 20);
        assertThat(MemorySize.parse("2g")).isEqualTo(2L << 30);
        assertThat(MemorySize.parse("65536K")).isEqualTo(64L << 20);
        assertThat(MemorySize.parse("1T")).isEqualTo(1L << 40);
    }

    @Test
    void rejectsGarbageZeroAndOverflow() {
        assertThatThrownBy(() -> MemorySize.parse("lots")).isInstanceOf(CommandLine.TypeConversionException.class)
                .hasMessageContaining("for example 256M");
        assertThatThrownBy(() -> MemorySize.parse("-5M")).isInstanceOf(CommandLine.TypeConversionException.class);
        assertThatThrownBy(() -> MemorySize.parse("0")).isInstanceOf(CommandLine.TypeConversionException.class);
        assertThatThrownBy(() -> MemorySize.parse("99999999999T")).isInstanceOf(CommandLine.TypeConversionException.class)
                .hasMessageContaining("too large");
    }
}
