package io.stratus.kvm.vm;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kvm.cpu.HostProfile;
import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.testing.GuestKit;
import io.stratus.kvm.testing.RequiresKvm;
import io.stratus.kvm.vcpu.GuestEmulationException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real Linux boots of the kit's kernels. About a minute each where KVM emulates guest kernel
 * code; the boots through {@code stratus vm run} with ACPI are in the CLI module's tests.
 */
@Tag("linux")
@RequiresKvm
class LinuxBootTest {
    private static final Pattern MARKER = Pattern.compile("STRATUS-GUEST-READY cpus=(\\d+) memkb=(\\d+)");

    @Test
    @Timeout(400)
    void testKernelWithAcpiOffFindsVcpusAndDisksWithoutTheDsdt(@TempDir Path dir) throws Exception {
        Path disk = Files.copy(GuestKit.file("disk.img"), dir.resolve("disk.img"));
        VmConfig config = VmConfig.builder(GuestKit.file("test-kernel/vmlinux"))
                .name("mptable").initrd(GuestKit.file("initramfs.cpio")).vcpus(2).memoryMiB(256)
                .cmdline("acpi=off panic=-1").disk(DiskConfig.of(disk, false)).build();
        ConsoleBuffer console = new ConsoleBuffer(1 << 20);
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            vm.start();
            VmExit exit = vm.awaitExit(Duration.ofSeconds(360)).orElseThrow(
                    () -> new AssertionError("no exit; console:\n" + console.text()));
            Matcher m = MARKER.matcher(console.text());
            assertThat(m.find()).as(console.text()).isTrue();
            assertThat(m.group(1)).isEqualTo("2");
            assertThat(console.text()).contains("Intel MultiProcessor Specification", "ACPI: Interpreter disabled");
            // The disk is found through virtio_mmio.device= on the command line the VMM wrote.
            assertThat(vm.effectiveCmdline()).contains("virtio_mmio.device=512@0xd0000000:5");
            assertThat(console.text()).contains("virtio_blk virtio0: [vda]", "STRATUS-DISK-MOUNTED /dev/vda");
            // Without ACPI, poweroff halts every CPU with interrupts off: the VMM notices and ends the run.
            assertThat(exit.reason()).as(console.text()).isEqualTo(VmExit.Reason.HALTED);
        }
    }

    @Test
    @Timeout(400)
    void stockDebianKernelRunsThroughTheVmmsAcpiTables() throws InterruptedException {
        VmConfig config = VmConfig.builder(GuestKit.file("stock/vmlinux")).name("stock")
                .initrd(GuestKit.file("initramfs-stock.cpio")).vcpus(1).memoryMiB(512).cmdline("panic=-1").build();
        ConsoleBuffer console = new ConsoleBuffer(1 << 20);
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            vm.start();
            VmExit exit = vm.awaitExit(Duration.ofSeconds(360)).orElseThrow(
                    () -> new AssertionError("no exit; console:\n" + console.text()));
            String text = console.text();
            assertThat(text).contains("Linux version 6.1", "ACPI: RSDP 0x00000000000E0000", "ACPI: XSDT",
                    "ACPI: FACP", "ACPI: APIC", "ACPI: DSDT", "STRTUS KVMRTIME");
            if (HostProfile.detect().emulatesGuestKernel()) {
                // Debian's kernel runs instructions KVM's emulator cannot: the VMM must stop by itself with
                // an error naming the instruction, never hang. It gets past the two that stop QEMU here:
                // XRSTOR (the VMM adds noxsave) and the INT3 self-test (the VMM delivers the #BP).
                assertThat(exit.reason()).as(text).isEqualTo(VmExit.Reason.FAILED);
                assertThat(exit.error()).get().isInstanceOf(GuestEmulationException.class);
                assertThat(exit.detail()).contains("could not emulate", "code bytes");
                assertThat(text).contains("x86/fpu: x87 FPU will use FXSAVE");
                GuestEmulationException failure = (GuestEmulationException) exit.error().orElseThrow();
                assertThat(failure.code()).isNotEmpty();
                assertThat(failure.code()[0] & 0xff).as("stopped by an INT3").isNotEqualTo(0xcc);
            } else {
                Matcher m = MARKER.matcher(text);
                assertThat(m.find()).as(text).isTrue();
                assertThat(exit.reason()).isEqualTo(VmExit.Reason.POWER_OFF);
            }
        }
    }

    @Test
    @Timeout(400)
    void restoredLinuxGuestAnswersOnItsConsoleWithItsUptimeContinued(@TempDir Path dir) throws Exception {
        Path disk = Files.copy(GuestKit.file("disk.img"), dir.resolve("disk.img"));
        Path snapshot = dir.resolve("snapshot");
        VmConfig config = VmConfig.builder(GuestKit.file("test-kernel/vmlinux")).name("snap")
                .initrd(GuestKit.file("initramfs.cpio")).vcpus(1).memoryMiB(256)
                .cmdline("panic=-1 stratus.run=/bin/sh").disk(DiskConfig.of(disk, false)).build();
        double uptimeBefore;
        ConsoleBuffer first = new ConsoleBuffer(1 << 20);
        try (VirtualMachine vm = VirtualMachine.create(config, first)) {
            vm.start();
            assertThat(first.await(Pattern.compile("STRATUS-RUN-BEGIN /bin/sh"), Duration.ofSeconds(300)))
                    .as(first.text()).isPresent();
            uptimeBefore = uptime(vm, first, "UPTIME-A");
            vm.pause();
            vm.snapshot(snapshot);
        }
        Thread.sleep(2000);
        ConsoleBuffer second = new ConsoleBuffer(1 << 20);
        try (VirtualMachine vm = VirtualMachine.restore(snapshot, second)) {
            vm.start();
            double uptimeAfter = uptime(vm, second, "UPTIME-B");
            assertThat(uptimeAfter).as("uptime goes on from the snapshot").isGreaterThan(uptimeBefore)
                    .isLessThan(uptimeBefore + 60);
            send(vm, "cat /mnt/hello.txt; echo DISK-READ\n");
            assertThat(second.await(Pattern.compile("hello from the stratus kit disk\\s+DISK-READ"),
                    Duration.ofSeconds(60))).as("the disk works after restore").isPresent();
            send(vm, "exit\n");
            VmExit exit = vm.awaitExit(Duration.ofSeconds(120)).orElseThrow(() -> new AssertionError(second.text()));
            assertThat(exit.reason()).isEqualTo(VmExit.Reason.POWER_OFF);
            assertThat(second.text()).as("no second boot").doesNotContain("Linux version");
        }
    }

    private static void send(VirtualMachine vm, String text) {
        byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(vm.sendConsoleInput(bytes, 0, bytes.length)).isEqualTo(bytes.length);
    }

    /** Asks the guest's shell for /proc/uptime, with a marker to wait for. */
    private static double uptime(VirtualMachine vm, ConsoleBuffer console, String marker) throws InterruptedException {
        send(vm, "cat /proc/uptime; echo " + marker + "\n");
        Matcher m = console.await(Pattern.compile("\n(\\d+\\.\\d+) \\d+\\.\\d+\\s+" + marker), Duration.ofSeconds(60))
                .orElseThrow(() -> new AssertionError("no uptime; console:\n" + console.text()));
        return Double.parseDouble(m.group(1));
    }
}
