package io.stratus.kvm.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.persist.StateFormatException;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class VolumeSlotStateTest {
    private static final VolumeSlotState HELD = new VolumeSlotState(
            Optional.of(NbdVolume.tcp("vol-1", "10.0.0.2", 10809, "vol-1", true)), 1L << 30);

    @Test
    void roundTripsAHeldAndAnEmptySlot() {
        assertThat(VolumeSlotState.decode(HELD.encode())).isEqualTo(HELD);
        assertThat(VolumeSlotState.decode(VolumeSlotState.EMPTY.encode())).isEqualTo(VolumeSlotState.EMPTY);
        assertThat(VolumeSlotState.EMPTY.encode()).containsExactly(0x56, 0x53, 0x4c, 0x31, 0);
    }

    @Test
    void refusesForeignOrCutBytes() {
        assertThatThrownBy(() -> VolumeSlotState.decode(new byte[] {1, 2, 3, 4, 5}))
                .isInstanceOf(StateFormatException.class).hasMessageContaining("no volume slot's state");
        byte[] all = HELD.encode();
        assertThatThrownBy(() -> VolumeSlotState.decode(Arrays.copyOf(all, all.length - 3)))
                .isInstanceOf(StateFormatException.class).hasMessageContaining("cut short");
    }

    @Test
    void refusesANegativeCapacityOrACapacityForAnEmptySlot() {
        assertThatThrownBy(() -> new VolumeSlotState(HELD.volume(), -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new VolumeSlotState(Optional.empty(), 512))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
