package io.stratus.kvm.devices;

import java.nio.ByteBuffer;

/**
 * The hardware-reduced ACPI power registers the FADT points at: a sleep control register
 * (SLP_TYP 5 with SLP_EN is power-off), a sleep status register, and a reset register at
 * 0xCF9 (the PC's reset control port, whose RST_CPU bit resets).
 */
public final class AcpiPowerControl {
    public static final int SLEEP_CONTROL_PORT = 0x600;
    public static final int SLEEP_STATUS_PORT = 0x601;
    public static final int RESET_PORT = 0xcf9;
    public static final int RESET_VALUE = 0x06;
    static final int SLP_EN = 1 << 5;
    static final int RST_CPU = 1 << 2;

    private final GuestPowerEvents power;
    private final int s5SleepType;

    /** @param s5SleepType the SLP_TYP value the DSDT's {@code _S5_} object gives */
    public AcpiPowerControl(GuestPowerEvents power, int s5SleepType) {
        this.power = power;
        this.s5SleepType = s5SleepType;
    }

    /** The sleep control and status registers, two consecutive ports. */
    public BusDevice sleepRegisters() {
        return new BusDevice() {
            @Override
            public void read(long offset, ByteBuffer data) {
                Serial8250.fill(data, 0);
            }

            @Override
            public void write(long offset, ByteBuffer data) {
                int value = data.get(data.position()) & 0xff;
                if (offset == 0 && (value & SLP_EN) != 0 && ((value >> 2) & 0x7) == s5SleepType) {
                    power.powerOff("ACPI S5");
                }
            }
        };
    }

    /** The reset control register. */
    public BusDevice resetRegister() {
        return new BusDevice() {
            @Override
            public void read(long offset, ByteBuffer data) {
                Serial8250.fill(data, 0);
            }

            @Override
            public void write(long offset, ByteBuffer data) {
                if ((data.get(data.position()) & RST_CPU) != 0) {
                    power.reset("ACPI reset register");
                }
            }
        };
    }
}
