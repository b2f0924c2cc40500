package io.stratus.kvm.devices;

import io.stratus.kvm.persist.Persist;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * A 16550A UART, enough of it for Linux's 8250 driver: transmit (every byte goes straight to the
 * console sink, so the transmitter is always empty), receive with a FIFO fed by the host,
 * interrupt identification for THR-empty and received-data interrupts, divisor latch, scratch
 * register, and the modem-control loopback that the driver's probe tests.
 */
public final class Serial8250 implements BusDevice, Persist<SerialState> {
    /** COM1. */
    public static final int COM1_PORT = 0x3f8;
    public static final int COM1_IRQ = 4;
    public static final int PORT_COUNT = 8;
    /** Received bytes the UART buffers; input beyond it waits in the host. */
    public static final int RX_CAPACITY = 4096;

    static final int DATA = 0;
    static final int IER = 1;
    static final int IIR_FCR = 2;
    static final int LCR = 3;
    static final int MCR = 4;
    static final int LSR = 5;
    static final int MSR = 6;
    static final int SCR = 7;

    static final int IER_RDI = 0x01;
    static final int IER_THRI = 0x02;
    static final int IIR_NONE = 0x01;
    static final int IIR_THRI = 0x02;
    static final int IIR_RDI = 0x04;
    static final int IIR_FIFO_ENABLED = 0xc0;
    static final int LCR_DLAB = 0x80;
    static final int LSR_DR = 0x01;
    static final int LSR_THRE = 0x20;
    static final int LSR_TEMT = 0x40;
    static final int MCR_LOOP = 0x10;
    static final int MSR_DEFAULT = 0xb0; // DCD, DSR, CTS: a terminal is attached

    private final ConsoleSink sink;
    private final InterruptLine irq;
    private final ArrayDeque<Byte> rx = new ArrayDeque<>();
    private final byte[] one = new byte[1];

    private int ier;
    private int lcr = 0x03;
    private int mcr = 0x08;
    private int scr;
    private int dll = 0x0c;
    private int dlm;
    private boolean fifoEnabled;
    private boolean thrInterruptPending;

    public Serial8250(ConsoleSink sink, InterruptLine irq) {
        this.sink = sink;
        this.irq = irq;
    }

    @Override
    public void read(long offset, ByteBuffer data) {
        int value;
        synchronized (this) {
            value = readRegister((int) offset);
        }
        fill(data, value);
    }

    @Override
    public void write(long offset, ByteBuffer data) {
        int value = data.get(data.position()) & 0xff;
        boolean raise;
        synchronized (this) {
            raise = writeRegister((int) offset, value);
        }
        if (raise) {
            irq.trigger();
        }
    }

    /**
     * Queues host input for the guest to read; returns how many bytes were taken (the rest
     * should be offered again later).
     */
    public int enqueueInput(byte[] bytes, int offset, int length) {
        boolean raise;
        int taken;
        synchronized (this) {
            boolean wasEmpty = rx.isEmpty();
            taken = Math.min(length, RX_CAPACITY - rx.size());
            for (int i = 0; i < taken; i++) {
                rx.add(bytes[offset + i]);
            }
            raise = taken > 0 && wasEmpty && (ier & IER_RDI) != 0;
        }
        if (raise) {
            irq.trigger();
        }
        return taken;
    }

    /** The UART's state, for a snapshot of a paused guest. */
    @Override
    public synchronized SerialState save() {
        byte[] input = new byte[rx.size()];
        int i = 0;
        for (Byte b : rx) {
            input[i++] = b;
        }
        return new SerialState(ier, lcr, mcr, scr, dll, dlm, fifoEnabled, thrInterruptPending, input);
    }

    /**
     * Restores a {@link #save()}; the guest must not run meanwhile. Registers are bytes and the
     * pending input fits the receive buffer, or nothing changes.
     */
    @Override
    public synchronized void restore(SerialState s) {
        for (int register : new int[] {s.ier(), s.lcr(), s.mcr(), s.scr(), s.dll(), s.dlm()}) {
            if (register < 0 || register > 0xff) {
                throw new IllegalArgumentException("serial port state: a register holds " + register
                        + ", not a byte");
            }
        }
        if (s.pendingInput().length > RX_CAPACITY) {
            throw new IllegalArgumentException("serial port state: " + s.pendingInput().length
                    + " bytes of pending input, the receive buffer holds " + RX_CAPACITY);
        }
        ier = s.ier();
        lcr = s.lcr();
        mcr = s.mcr();
        scr = s.scr();
        dll = s.dll();
        dlm = s.dlm();
        fifoEnabled = s.fifoEnabled();
        thrInterruptPending = s.thrInterruptPending();
        rx.clear();
        for (byte b : s.pendingInput()) {
            rx.add(b);
        }
    }

    private int readRegister(int reg) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        switch (reg) {
            case DATA:
                if (dlab) {
                    return dll;
                }
                Byte b = rx.poll();
                return b == null ? 0 : b & 0xff;
            case IER:
                return dlab ? dlm : ier;
            case IIR_FCR: {
                int iir = interruptIdentification();
                if (iir == IIR_THRI) {
                    // Reading IIR while it reports THR empty clears that interrupt.
                    thrInterruptPending = false;
                }
                return iir | (fifoEnabled ? IIR_FIFO_ENABLED : 0);
            }
            case LCR:
                return lcr;
            case MCR:
                return mcr;
            case LSR:
                return LSR_THRE | LSR_TEMT | (rx.isEmpty() ? 0 : LSR_DR);
            case MSR:
                if ((mcr & MCR_LOOP) != 0) {
                    // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
                    return ((mcr & 0x01) << 5) | ((mcr & 0x02) << 3) | ((mcr & 0x04) << 4) | ((mcr & 0x08) << 4);
                }
                return MSR_DEFAULT;
            case SCR:
                return scr;
            default:
                return 0xff;
        }
    }

    /** Returns whether the interrupt line should fire. */
    private boolean writeRegister(int reg, int value) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        switch (reg) {
            case DATA:
                if (dlab) {
                    dll = value;
                    return false;
                }
                if ((mcr & MCR_LOOP) != 0) {
                    boolean wasEmpty = rx.isEmpty();
                    if (rx.size() < RX_CAPACITY) {
                        rx.add((byte) value);
                    }
                    thrInterruptPending = true;
                    return (wasEmpty && (ier & IER_RDI) != 0) || (ier & IER_THRI) != 0;
                }
                one[0] = (byte) value;
                sink.write(one, 0, 1);
                thrInterruptPending = true;
                return (ier & IER_THRI) != 0;
            case IER:
                if (dlab) {
                    dlm = value;
                    return false;
                }
                int old = ier;
                ier = value & 0x0f;
                boolean thriEnabled = (old & IER_THRI) == 0 && (ier & IER_THRI) != 0;
                if (thriEnabled) {
                    // The transmitter is always empty: enabling its interrupt raises it at once.
                    thrInterruptPending = true;
                }
                return thriEnabled || ((old & IER_RDI) == 0 && (ier & IER_RDI) != 0 && !rx.isEmpty());
            case IIR_FCR:
                fifoEnabled = (value & 0x01) != 0;
                if ((value & 0x02) != 0) {
                    rx.clear();
                }
                return false;
            case LCR:
                lcr = value;
                return false;
            case MCR:
                mcr = value & 0x1f;
                return false;
            case SCR:
                scr = value;
                return false;
            default:
                return false;
        }
    }

    private int interruptIdentification() {
        if ((ier & IER_RDI) != 0 && !rx.isEmpty()) {
            return IIR_RDI;
        }
        if ((ier & IER_THRI) != 0 && thrInterruptPending) {
            return IIR_THRI;
        }
        return IIR_NONE;
    }

    static void fill(ByteBuffer data, int value) {
        int p = data.position();
        for (int i = 0; i < data.remaining(); i++) {
            data.put(p + i, (byte) (i == 0 ? value : 0));
        }
    }
}
