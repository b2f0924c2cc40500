package io.stratus.kvm.acpi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AmlTest {

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    @Test
    void encodesSmallestIntegerForm() {
        assertThat(Aml.integer(0)).containsExactly(0x00);
        assertThat(Aml.integer(1)).containsExactly(0x01);
        assertThat(Aml.integer(0x05)).containsExactly(bytes(0x0a, 0x05));
        assertThat(Aml.integer(0x1234)).containsExactly(bytes(0x0b, 0x34, 0x12));
        assertThat(Aml.integer(0xdeadbeefL)).containsExactly(bytes(0x0c, 0xef, 0xbe, 0xad, 0xde));
        assertThat(Aml.integer(0x1_0000_0000L)).containsExactly(bytes(0x0e, 0, 0, 0, 0, 1, 0, 0, 0));
    }

    @Test
    void encodesS5PackageAsCloudHypervisorDoes() {
        // Name (_S5, Package () { 5 }) from Cloud Hypervisor's AML tests.
        assertThat(Aml.name("_S5_", Aml.packageOf(Aml.integer(5))))
                .containsExactly(bytes(0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x04, 0x01, 0x0a, 0x05));
    }

    @Test
    void pkgLengthCountsItsOwnBytesAcrossEncodingBoundaries() {
        assertThat(Aml.pkgLength(0)).containsExactly(0x01);
        assertThat(Aml.pkgLength(62)).containsExactly(0x3f);
        // 63 payload bytes + 2 length bytes = 65 = 0x41: low nibble 1, then 0x04.
        assertThat(Aml.pkgLength(63)).containsExactly(bytes(0x41, 0x04));
        assertThat(Aml.pkgLength(4093)).containsExactly(bytes(0x4f, 0xff));
        // 4094 + 3 = 4097 = 0x1001.
        assertThat(Aml.pkgLength(4094)).containsExactly(bytes(0x81, 0x00, 0x01));
        assertThat(Aml.pkgLength(0x100000)).containsExactly(bytes(0xc4, 0x00, 0x00, 0x01));
    }

    @Test
    void encodesNamePaths() {
        assertThat(Aml.nameString("COM1")).containsExactly('C', 'O', 'M', '1');
        assertThat(Aml.nameString("_SB")).containsExactly('_', 'S', 'B', '_');
        assertThat(Aml.nameString("\\_SB_")).containsExactly('\\', '_', 'S', 'B', '_');
        assertThat(Aml.nameString("\\_SB_.COM1")).containsExactly(bytes('\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1'));
        assertThat(Aml.nameString("A.B.C")).containsExactly(bytes(0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_'));
        assertThat(Aml.nameString("^^FOO")).containsExactly(bytes('^', '^', 'F', 'O', 'O', '_'));
    }

    @Test
    void rejectsInvalidNameSegments() {
        assertThatThrownBy(() -> Aml.nameString("toolong")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Aml.nameString("1ABC")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Aml.nameString("a")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void compressesEisaIds() {
        assertThat(Aml.eisaId("PNP0501")).containsExactly(bytes(0x0c, 0x41, 0xd0, 0x05, 0x01));
        assertThat(Aml.eisaId("PNP0A03")).containsExactly(bytes(0x0c, 0x41, 0xd0, 0x0a, 0x03));
        assertThatThrownBy(() -> Aml.eisaId("pnp0501")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void encodesResourceDescriptors() {
        assertThat(Aml.io(0x3f8, 0x3f8, 1, 8)).containsExactly(bytes(0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08));
        assertThat(Aml.irqNoFlags(4)).containsExactly(bytes(0x22, 0x10, 0x00));
        assertThat(Aml.memory32Fixed(true, 0xd0000000L, 0x200))
                .containsExactly(bytes(0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x02, 0x00, 0x00));
        assertThat(Aml.interrupt(true, false, false, 5))
                .containsExactly(bytes(0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00));
        // ResourceTemplate () { IRQNoFlags () {4} }: Buffer (5) { ..., EndTag }.
        assertThat(Aml.resourceTemplate(Aml.irqNoFlags(4)))
                .containsExactly(bytes(0x11, 0x08, 0x0a, 0x05, 0x22, 0x10, 0x00, 0x79, 0x00));
    }

    @Test
    void encodesDeviceAndMethod() {
        byte[] device = Aml.device("COM1", Aml.name("_UID", Aml.integer(0)));
        assertThat(device).containsExactly(bytes(0x5b, 0x82, 0x0b, 'C', 'O', 'M', '1', 0x08, '_', 'U', 'I', 'D', 0x00));
        byte[] method = Aml.method("_STA", 0, false, Aml.returnValue(Aml.integer(0xf)));
        assertThat(method).containsExactly(bytes(0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f));
        assertThat(Aml.string("LNRO0005")).containsExactly(bytes(0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0));
    }
}
