package io.stratus.kvm.virtio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** A queue's saved state goes back as it was; ring indices no device could have are refused. */
class VirtQueuePersistTest {
    @Test
    void aRestoredQueueSavesWhatItWasGiven() {
        VirtQueueState saved = new VirtQueueState(128, true, 0x10000, 0x11000, 0x12000, true, 0xffff, 3);
        VirtQueue queue = new VirtQueue(256);
        queue.restore(saved);
        assertThat(queue.save()).isEqualTo(saved);
    }

    @Test
    void refusesRingIndicesBeyondSixteenBitsAndKeepsItsState() {
        VirtQueue queue = new VirtQueue(256);
        VirtQueueState before = queue.save();
        assertThatThrownBy(() -> queue.restore(new VirtQueueState(256, true, 0, 0, 0, false, 0x10000, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("16-bit");
        assertThatThrownBy(() -> queue.restore(new VirtQueueState(256, true, 0, 0, 0, false, 0, -1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(queue.save()).isEqualTo(before);
    }
}
