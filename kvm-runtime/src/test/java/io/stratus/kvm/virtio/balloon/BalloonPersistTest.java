package io.stratus.kvm.virtio.balloon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.persist.StateFormatException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class BalloonPersistTest {
    private static final long MEMORY = 64L << 20;
    private static final int PAGES = (int) (MEMORY / VirtioBalloon.PAGE);

    private static VirtioBalloon balloon() {
        return new VirtioBalloon("balloon", MEMORY, Duration.ofSeconds(5));
    }

    @Test
    void theTargetGoesThroughTheTransportsBytes() {
        VirtioBalloon source = balloon();
        source.setTarget(8L << 20);
        VirtioBalloon target = balloon();
        target.restoreState(source.saveState());
        assertThat(target.targetBytes()).isEqualTo(8L << 20);
        assertThat(target.save()).isEqualTo(source.save());
    }

    @Test
    void refusesFiguresOutsideTheGuestsMemory() {
        VirtioBalloon b = balloon();
        assertThatThrownBy(() -> b.restore(new BalloonState(PAGES + 1, 0))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside");
        assertThatThrownBy(() -> b.restore(new BalloonState(0, -1))).isInstanceOf(IllegalArgumentException.class);
        b.restore(new BalloonState(PAGES, PAGES));
        assertThat(b.targetBytes()).isEqualTo(MEMORY);
    }

    @Test
    void refusesBytesOfAnotherLength() {
        assertThatThrownBy(() -> balloon().restoreState(new byte[7])).isInstanceOf(StateFormatException.class);
    }
}
