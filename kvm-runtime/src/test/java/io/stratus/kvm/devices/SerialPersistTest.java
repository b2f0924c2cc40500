package io.stratus.kvm.devices;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The UART's registers and pending input move into a fresh UART; state it could not have had is refused. */
class SerialPersistTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private Serial8250 uart() {
        return new Serial8250(out::write, () -> { });
    }

    @Test
    void aRestoredUartHasTheRegistersAndTheInputNotYetRead() {
        Serial8250 source = uart();
        source.write(Serial8250.LCR, ByteBuffer.wrap(new byte[] {(byte) 0x1b}));
        source.write(Serial8250.SCR, ByteBuffer.wrap(new byte[] {0x5a}));
        source.enqueueInput("hi".getBytes(), 0, 2);

        Serial8250 target = uart();
        target.restore(source.save());
        assertThat(target.save()).usingRecursiveComparison().isEqualTo(source.save());
        ByteBuffer b = ByteBuffer.allocate(1);
        target.read(Serial8250.DATA, b);
        assertThat(b.get(0)).isEqualTo((byte) 'h');
    }

    @Test
    void refusesARegisterThatIsNotAByte() {
        Serial8250 target = uart();
        SerialState before = target.save();
        assertThatThrownBy(() -> target.restore(new SerialState(0x100, 3, 0, 0, 1, 0, false, false, new byte[0])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a byte");
        assertThat(target.save()).usingRecursiveComparison().isEqualTo(before);
    }

    @Test
    void refusesMorePendingInputThanTheReceiveBufferHolds() {
        SerialState tooMuch = new SerialState(0, 3, 0, 0, 1, 0, false, false, new byte[Serial8250.RX_CAPACITY + 1]);
        assertThatThrownBy(() -> uart().restore(tooMuch)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("receive buffer");
    }
}
