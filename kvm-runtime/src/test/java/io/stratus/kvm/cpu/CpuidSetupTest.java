package io.stratus.kvm.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kvm.sys.CpuidEntry;
import io.stratus.kvm.sys.MsrEntry;
import java.util.List;
import org.junit.jupiter.api.Test;

class CpuidSetupTest {
    /** Leaves as this development host's KVM (kvm_pvm, AMD family 19h) reports them. */
    private static final List<CpuidEntry> SUPPORTED = List.of(
            new CpuidEntry(0, 0, 0, 0x1c, 0x68747541, 0x444d4163, 0x69746e65),
            new CpuidEntry(1, 0, 0, 0x00a10f11, 0x01020800, 0x81202000, 0x078bfbff),
            new CpuidEntry(0xa, 0, 0, 0x07300402, 0, 0, 0x603),
            new CpuidEntry(0xb, 0, 1, 0, 0, 0, 1),
            new CpuidEntry(0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d),
            new CpuidEntry(0x40000001, 0, 0, 0x01007efb, 0, 0, 0),
            new CpuidEntry(0x80000008, 0, 0, 0x3030, 0x50020005, 0x7001, 0));

    private static CpuidEntry leaf(List<CpuidEntry> entries, int function, int index) {
        return entries.stream().filter(e -> e.function() == function && e.index() == index).findFirst().orElseThrow();
    }

    @Test
    void givesEachVcpuItsApicIdAndThePackageItsSize() {
        List<CpuidEntry> cpu2 = CpuidSetup.forVcpu(SUPPORTED, 2, 4, true, new HostProfile(false));
        CpuidEntry features = leaf(cpu2, 1, 0);
        assertThat(features.ebx() >>> 24).isEqualTo(2);
        assertThat((features.ebx() >>> 16) & 0xff).isEqualTo(4);
        assertThat(features.ebx() & 0xffff).as("CLFLUSH size and brand kept").isEqualTo(0x0800);
        assertThat(features.ecx() & (1 << 31)).as("hypervisor").isNotZero();
        assertThat(features.ecx() & (1 << 24)).as("TSC deadline").isNotZero();
        assertThat(features.edx() & (1 << 28)).as("HTT").isNotZero();
        assertThat(leaf(cpu2, 0xb, 0).edx()).isEqualTo(2);
        assertThat(leaf(cpu2, 0xb, 1).ebx()).isEqualTo(4);
        assertThat(leaf(cpu2, 0xb, 1).eax()).as("x2APIC id shift for 4 cores").isEqualTo(2);
        assertThat(leaf(cpu2, 0xa, 0).eax()).as("no PMU").isZero();
        assertThat(leaf(cpu2, 0x80000008, 0).ecx() & 0xff).isEqualTo(3);
    }

    @Test
    void singleVcpuHasNoHyperthreadingFlag() {
        CpuidEntry features = leaf(CpuidSetup.forVcpu(SUPPORTED, 0, 1, false, new HostProfile(false)), 1, 0);
        assertThat(features.edx() & (1 << 28)).isZero();
        assertThat(features.ebx() >>> 24).isZero();
    }

    @Test
    void hidesWhatAnEmulatingHostCannotRun() {
        HostProfile pvm = new HostProfile(true);
        List<CpuidEntry> entries = CpuidSetup.forVcpu(SUPPORTED, 0, 2, true, pvm);
        assertThat(leaf(entries, 1, 0).ecx() & (1 << 13)).as("CMPXCHG16B").isZero();
        int kvmFeatures = leaf(entries, 0x40000001, 0).eax();
        assertThat(kvmFeatures & (1 << 11)).as("PV send IPI").isZero();
        assertThat(kvmFeatures & (1 << 13)).as("PV sched yield").isZero();
        assertThat(kvmFeatures & (1 << 7)).as("PV unhalt").isZero();
        assertThat(kvmFeatures & (1 << 3)).as("kvm-clock stays").isNotZero();
        List<CpuidEntry> hardware = CpuidSetup.forVcpu(SUPPORTED, 0, 2, true, new HostProfile(false));
        assertThat(leaf(hardware, 1, 0).ecx() & (1 << 13)).isNotZero();
        assertThat(leaf(hardware, 0x40000001, 0).eax()).isEqualTo(0x01007efb);
    }

    @Test
    void writesOnlyMsrsTheHostLists() {
        int[] listed = {0x174, 0x175, 0x176, 0xc0000081, 0xc0000082, 0x10, 0x10a, 0x1a0};
        List<MsrEntry> msrs = MsrSetup.bootMsrs(listed);
        assertThat(msrs).extracting(MsrEntry::index)
                .containsExactly(0x174, 0x175, 0x176, 0xc0000081, 0xc0000082, 0x10, 0x1a0)
                .doesNotContain(0x10a, 0x2ff);
        assertThat(msrs).contains(new MsrEntry(0x1a0, 1));
    }
}
