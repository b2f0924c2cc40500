package io.stratus.kvm.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class VcpuSetupTest {
    @Test
    void setsOnlyTheDeliveryModeBitsOfTheLvtRegister() {
        byte[] lapic = new byte[1024];
        ByteBuffer b = ByteBuffer.wrap(lapic).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x350, 0x0001_0700 | 0x30); // masked, mode bits all set, a vector
        VcpuSetup.setDeliveryMode(lapic, 0x350, 0x7);
        assertThat(b.getInt(0x350)).isEqualTo(0x0001_0700 | 0x30);
        VcpuSetup.setDeliveryMode(lapic, 0x350, 0x4);
        assertThat(b.getInt(0x350)).isEqualTo(0x0001_0400 | 0x30);
        assertThat(b.getInt(0x360)).as("the next register untouched").isZero();
    }
}
