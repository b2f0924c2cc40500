package io.stratus.kvm.devices;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class Serial8250Test {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final AtomicInteger interrupts = new AtomicInteger();
    private final Serial8250 uart = new Serial8250(out::write, interrupts::incrementAndGet);

    private void write(int reg, int value) {
        uart.write(reg, ByteBuffer.wrap(new byte[] {(byte) value}));
    }

    private int read(int reg) {
        ByteBuffer b = ByteBuffer.allocate(1);
        uart.read(reg, b);
        return b.get(0) & 0xff;
    }

    @Test
    void transmitsToTheSinkAndIsAlwaysReadyForMore() {
        write(Serial8250.DATA, 'h');
        write(Serial8250.DATA, 'i');
        assertThat(out.toString()).isEqualTo("hi");
        assertThat(read(Serial8250.LSR) & 0x60).isEqualTo(0x60);
        assertThat(interrupts).hasValue(0);
    }

    @Test
    void raisesAndClearsTheTransmitterEmptyInterrupt() {
        write(Serial8250.IER, Serial8250.IER_THRI);
        assertThat(interrupts).hasValue(1);
        assertThat(read(Serial8250.IIR_FCR) & 0x0f).isEqualTo(Serial8250.IIR_THRI);
        assertThat(read(Serial8250.IIR_FCR) & 0x0f).as("reading IIR cleared it").isEqualTo(Serial8250.IIR_NONE);
        write(Serial8250.DATA, 'x');
        assertThat(interrupts).hasValue(2);
        assertThat(read(Serial8250.IIR_FCR) & 0x0f).isEqualTo(Serial8250.IIR_THRI);
        // Re-enabling THRI re-asserts it, as Linux's startup test of the UART expects.
        write(Serial8250.IER, 0);
        write(Serial8250.IER, Serial8250.IER_THRI);
        assertThat(read(Serial8250.IIR_FCR) & 0x0f).isEqualTo(Serial8250.IIR_THRI);
    }

    @Test
    void receivesHostInputWithDataReadyInterrupts() {
        write(Serial8250.IER, Serial8250.IER_RDI);
        assertThat(uart.enqueueInput("ok".getBytes(), 0, 2)).isEqualTo(2);
        assertThat(interrupts).hasValue(1);
        assertThat(read(Serial8250.LSR) & Serial8250.LSR_DR).isNotZero();
        assertThat(read(Serial8250.IIR_FCR) & 0x0f).isEqualTo(Serial8250.IIR_RDI);
        assertThat(read(Serial8250.DATA)).isEqualTo('o');
        assertThat(read(Serial8250.DATA)).isEqualTo('k');
        assertThat(read(Serial8250.LSR) & Serial8250.LSR_DR).isZero();
        assertThat(read(Serial8250.IIR_FCR) & 0x0f).isEqualTo(Serial8250.IIR_NONE);
    }

    @Test
    void bufferIsBoundedAndTellsTheHostHowMuchItTook() {
        byte[] big = new byte[Serial8250.RX_CAPACITY + 100];
        assertThat(uart.enqueueInput(big, 0, big.length)).isEqualTo(Serial8250.RX_CAPACITY);
        assertThat(uart.enqueueInput(big, 0, 1)).isZero();
    }

    @Test
    void passesLinuxLoopbackAndScratchProbes() {
        write(Serial8250.SCR, 0xa5);
        assertThat(read(Serial8250.SCR)).isEqualTo(0xa5);
        write(Serial8250.MCR, Serial8250.MCR_LOOP | 0x0a);
        assertThat(read(Serial8250.MSR) & 0xf0).isEqualTo(0x90);
        write(Serial8250.DATA, 'z');
        assertThat(out.size()).as("loopback keeps data off the wire").isZero();
        assertThat(read(Serial8250.DATA)).isEqualTo('z');
        write(Serial8250.MCR, 0x0b);
        assertThat(read(Serial8250.MSR)).isEqualTo(Serial8250.MSR_DEFAULT);
    }

    @Test
    void divisorLatchSharesDataAndIerPorts() {
        write(Serial8250.LCR, 0x83);
        write(Serial8250.DATA, 0x01);
        write(Serial8250.IER, 0x00);
        assertThat(read(Serial8250.DATA)).isEqualTo(0x01);
        write(Serial8250.LCR, 0x03);
        write(Serial8250.DATA, 'a');
        assertThat(out.toString()).isEqualTo("a");
        write(Serial8250.IIR_FCR, 0x07);
        assertThat(read(Serial8250.IIR_FCR) & 0xc0).as("FIFOs enabled").isEqualTo(0xc0);
    }
}
