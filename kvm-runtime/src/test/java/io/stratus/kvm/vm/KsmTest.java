package io.stratus.kvm.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.memory.HostPageFlags;
import io.stratus.kvm.memory.KsmHost;
import io.stratus.kvm.memory.PageFootprint;
import io.stratus.kvm.testing.RequiresKvm;
import io.stratus.kvm.testing.TestGuests;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two identical guests that fill their RAM with the same pages are merged by the host's KSM
 * scanner, and the per-guest accounting sees it; a third, identical but not mergeable, is not.
 */
@Timeout(180)
@RequiresKvm
class KsmTest {
    private static final long MIB = 1L << 20;
    private static final Pattern FILLED = Pattern.compile("STRATUS-PAGES-FILLED kb=(\\d+)");

    private static VmConfig pages(String name, boolean mergeable) {
        return VmConfig.builder(TestGuests.image("pages.elf")).name(name).memoryMiB(64).noBalloon()
                .mergeableMemory(mergeable).build();
    }

    @Test
    void identicalGuestsAreMergedAndAccountedPerGuest() throws Exception {
        KsmHost ksm = KsmHost.system();
        assumeThat(ksm.isAvailable()).as("host kernel with KSM").isTrue();
        HostPageFlags flags = HostPageFlags.ofThisProcess();
        List<VirtualMachine> vms = new ArrayList<>();
        try {
            for (VmConfig c : List.of(pages("a", true), pages("b", true), pages("private", false))) {
                ConsoleBuffer console = new ConsoleBuffer(4096);
                VirtualMachine vm = VirtualMachine.create(c, console);
                vms.add(vm);
                vm.start();
                assertThat(console.await(FILLED, Duration.ofSeconds(30))).as(c.name() + ": " + console.text())
                        .isPresent();
            }
            PageFootprint before = vms.get(0).memory().footprint(flags);
            assertThat(before.residentBytes()).as("the fill made guest RAM resident").isGreaterThan(56 * MIB);

            try (KsmHost.SettingsOverride ignored = ksm.override(new KsmHost.Settings(1, 4000, 5))) {
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (vms.get(0).memory().footprint(flags).ksmBytes() < 48 * MIB
                        || vms.get(1).memory().footprint(flags).ksmBytes() < 48 * MIB) {
                    assertThat(System.nanoTime()).as("KSM merged the identical guests in time: %s",
                            vms.get(0).memory().footprint(flags)).isLessThan(deadline);
                    Thread.sleep(200);
                }
                PageFootprint a = vms.get(0).memory().footprint(flags);
                PageFootprint b = vms.get(1).memory().footprint(flags);
                PageFootprint unmergeable = vms.get(2).memory().footprint(flags);
                assertThat(a.privateBytes()).isLessThan(a.residentBytes() / 4);
                assertThat(b.ksmBytes()).isGreaterThanOrEqualTo(48 * MIB);
                assertThat(unmergeable.residentBytes()).isGreaterThan(56 * MIB);
                assertThat(unmergeable.ksmBytes()).as("MADV_MERGEABLE off").isZero();
                // Absolute, not a delta: where ksmd already runs (CI hosts may leave it on), the
                // guests merge while they fill, before any "before" figure could be taken.
                assertThat(ksm.figures().pagesSharing()).as("host-wide pages_sharing")
                        .isGreaterThanOrEqualTo(12_000);
            }
        } finally {
            for (VirtualMachine vm : vms) {
                vm.close();
            }
        }
    }
}
