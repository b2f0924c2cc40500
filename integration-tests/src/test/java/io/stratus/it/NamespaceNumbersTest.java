package io.stratus.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Two clouds of one JVM never share a host namespace number; one cloud may take its own again. */
class NamespaceNumbersTest {
    @Test
    void aNumberHeldByOneCloudIsRefusedToAnotherUntilGivenBack() {
        int n = NamespaceNumbers.claim(191, "network");
        assertThat(NamespaceNumbers.claim(191, "network")).as("an agent restarted on its host").isEqualTo(n);
        assertThatThrownBy(() -> NamespaceNumbers.claim(191, "migration"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("held by cloud network");
        NamespaceNumbers.release(n, "migration");
        assertThatThrownBy(() -> NamespaceNumbers.claim(191, "migration")).as("only the holder gives it back")
                .isInstanceOf(IllegalStateException.class);
        NamespaceNumbers.release(n, "network");
        assertThat(NamespaceNumbers.claim(191, "migration")).isEqualTo(n);
        NamespaceNumbers.release(n, "migration");
    }
}
