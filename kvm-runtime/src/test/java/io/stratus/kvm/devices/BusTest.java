package io.stratus.kvm.devices;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BusTest {
    private final List<String> seen = new ArrayList<>();

    private BusDevice recorder(String name) {
        return new BusDevice() {
            @Override
            public void read(long offset, ByteBuffer data) {
                seen.add(name + " read " + offset);
                data.put(data.position(), (byte) 0x42);
            }

            @Override
            public void write(long offset, ByteBuffer data) {
                seen.add(name + " write " + offset + "=" + data.get(data.position()));
            }
        };
    }

    @Test
    void dispatchesToTheDeviceCoveringTheAddressWithItsOffset() {
        Bus bus = new Bus("test");
        bus.register(0x3f8, 8, recorder("uart"));
        bus.register(0x60, 1, recorder("kbd"));
        assertThat(bus.write(0x3fb, ByteBuffer.wrap(new byte[] {3}))).isTrue();
        ByteBuffer b = ByteBuffer.allocate(1);
        assertThat(bus.read(0x60, b)).isTrue();
        assertThat(b.get(0)).isEqualTo((byte) 0x42);
        assertThat(seen).containsExactly("uart write 3=3", "kbd read 0");
    }

    @Test
    void missesOutsideDevicesAndAccessesStraddlingTheEnd() {
        Bus bus = new Bus("test");
        bus.register(0x1000, 0x10, recorder("dev"));
        assertThat(bus.read(0xfff, ByteBuffer.allocate(1))).isFalse();
        assertThat(bus.read(0x1010, ByteBuffer.allocate(1))).isFalse();
        assertThat(bus.read(0x100e, ByteBuffer.allocate(4))).as("straddles the end").isFalse();
        assertThat(bus.read(0x100c, ByteBuffer.allocate(4))).isTrue();
    }

    @Test
    void refusesOverlappingDevices() {
        Bus bus = new Bus("test");
        bus.register(0x1000, 0x10, recorder("a"));
        assertThatThrownBy(() -> bus.register(0x100f, 1, recorder("b"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("overlaps");
        assertThatThrownBy(() -> bus.register(0xff0, 0x11, recorder("b"))).isInstanceOf(IllegalArgumentException.class);
        bus.register(0x1010, 1, recorder("c"));
    }
}
