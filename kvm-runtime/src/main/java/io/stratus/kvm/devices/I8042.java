package io.stratus.kvm.devices;

import java.nio.ByteBuffer;

/**
 * The i8042 keyboard controller, reduced to what a guest uses it for here: the CPU reset line
 * (command 0xFE on port 0x64, which Linux's {@code reboot=k} sends). Status reads say the
 * controller is idle, so a driver's wait-for-ready loops end at once.
 */
public final class I8042 implements BusDevice {
    public static final int DATA_PORT = 0x60;
    public static final int COMMAND_PORT = 0x64;
    static final int CMD_PULSE_RESET = 0xfe;

    private final GuestPowerEvents power;

    public I8042(GuestPowerEvents power) {
        this.power = power;
    }

    /** The data port (0x60): reads 0, ignores writes. */
    public static BusDevice dataPort() {
        return new BusDevice() {
            @Override
            public void read(long offset, ByteBuffer data) {
                Serial8250.fill(data, 0);
            }

            @Override
            public void write(long offset, ByteBuffer data) {
                // No keyboard behind it: nothing to send the bytes to.
            }
        };
    }

    /** The status/command port (0x64). */
    @Override
    public void read(long offset, ByteBuffer data) {
        Serial8250.fill(data, 0);
    }

    @Override
    public void write(long offset, ByteBuffer data) {
        if ((data.get(data.position()) & 0xff) == CMD_PULSE_RESET) {
            power.reset("i8042 reset");
        }
    }
}
