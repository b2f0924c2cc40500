package io.stratus.scheduler.selection;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HypervisorTest {
    private static final Hypervisor KVM = new Hypervisor("KVM", "0.1.0", Set.of(Hypervisor.DRIVER_KVM,
            Hypervisor.LIVE_MIGRATION, Hypervisor.COLD_MIGRATION));
    private static final Hypervisor QEMU = new Hypervisor("QEMU", "7.2.0", Set.of(Hypervisor.DRIVER_QEMU,
            Hypervisor.COLD_MIGRATION));
    /** QEMU on /dev/kvm: Nova's libvirt says "KVM" for it. */
    private static final Hypervisor QEMU_ON_KVM = new Hypervisor("KVM", "8.2.2", Set.of(Hypervisor.DRIVER_QEMU,
            Hypervisor.COLD_MIGRATION));
    private static final Hypervisor NONE = new Hypervisor("", "", Set.of());

    @Test
    void aDottedVersionBecomesNovasInteger() {
        assertThat(Hypervisor.versionNumber("7.2.0")).hasValue(7_002_000);
        assertThat(Hypervisor.versionNumber("8.2.2")).hasValue(8_002_002);
        assertThat(Hypervisor.versionNumber("10.1.17")).hasValue(10_001_017);
        assertThat(Hypervisor.versionNumber("7.2")).as("no micro: 0").hasValue(7_002_000);
        assertThat(Hypervisor.versionNumber("9")).hasValue(9_000_000);
        assertThat(Hypervisor.versionNumber("0.1.0")).hasValue(1_000);
        assertThat(Hypervisor.versionNumber("v8.0.4-rc1")).as("a prefix and a suffix around it").hasValue(8_000_004);
        assertThat(Hypervisor.versionNumber("QEMU emulator version 7.2.9 (Debian 1:7.2+dfsg-7+deb12u6)"))
                .hasValue(7_002_009);
        assertThat(QEMU.versionNumber()).hasValue(7_002_000);
    }

    @Test
    void aVersionWithoutNumbersOrWithPartsTooLargeIsUnknown() {
        assertThat(Hypervisor.versionNumber("")).isEqualTo(OptionalLong.empty());
        assertThat(Hypervisor.versionNumber(null)).isEqualTo(OptionalLong.empty());
        assertThat(Hypervisor.versionNumber("unknown")).isEqualTo(OptionalLong.empty());
        assertThat(Hypervisor.versionNumber("7.1000.0")).as("minor 1000 would read as major 8")
                .isEqualTo(OptionalLong.empty());
        assertThat(Hypervisor.LEGACY_KVM.versionNumber()).isEqualTo(OptionalLong.empty());
    }

    @Test
    void anImagesHypervisorTypeNamesTheHostsOwnDriverInAnyCase() {
        assertThat(QEMU.runs("qemu")).isTrue();
        assertThat(QEMU.runs("QEMU")).isTrue();
        assertThat(QEMU.runs(" Qemu ")).isTrue();
        assertThat(QEMU.runs("kvm")).isFalse();
        assertThat(KVM.runs("kvm")).isTrue();
        assertThat(KVM.runs("KVM")).isTrue();
        assertThat(KVM.runs("qemu")).as("the in-JVM VMM is not QEMU").isFalse();
        assertThat(KVM.runs("xen")).isFalse();
        // QEMU on KVM runs what asks for kvm, and can emulate what asks for qemu.
        assertThat(QEMU_ON_KVM.runs("kvm")).isTrue();
        assertThat(QEMU_ON_KVM.runs("qemu")).isTrue();
        assertThat(Hypervisor.LEGACY_KVM.runs("kvm")).isTrue();
        // "stratus" asked for any Stratus host before hosts told their driver; a host without one runs nothing.
        assertThat(KVM.runs("stratus")).isTrue();
        assertThat(QEMU.runs("Stratus")).isTrue();
        assertThat(NONE.runs("stratus")).isFalse();
        assertThat(NONE.runs("kvm")).isFalse();
        assertThat(NONE.describe()).isEqualTo("no working driver");
        assertThat(QEMU.describe()).isEqualTo("QEMU");
        assertThat(KVM.describe()).isEqualTo("KVM");
        assertThat(QEMU_ON_KVM.describe()).isEqualTo("KVM, QEMU driver");
    }
}
