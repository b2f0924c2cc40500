package io.stratus.kvm.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.boot.KernelLoadException;
import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.testing.RequiresKvm;
import io.stratus.kvm.testing.TestGuests;
import io.stratus.kvm.vcpu.GuestEmulationException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Real guests on real KVM: the tiny test guests, seconds each even where guest kernel code is emulated. */
@Timeout(120)
@RequiresKvm
class TestGuestBootTest {
    private static final Duration RUN_LIMIT = Duration.ofSeconds(60);

    record Run(VmExit exit, String console) {
    }

    private static Run boot(String image, int vcpus, long memoryMiB, String cmdline) throws InterruptedException {
        VmConfig config = VmConfig.builder(TestGuests.image(image)).name(image).vcpus(vcpus).memoryMiB(memoryMiB)
                .cmdline(cmdline).build();
        ConsoleBuffer console = new ConsoleBuffer(64 * 1024);
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            vm.start();
            VmExit exit = vm.awaitExit(RUN_LIMIT).orElseThrow(() -> new AssertionError(image + " did not finish; console:\n"
                    + console.text()));
            return new Run(exit, console.text());
        }
    }

    @Test
    void guestPowerOffThroughAcpiEndsTheRunCleanly() throws InterruptedException {
        Run run = boot("hello.elf", 1, 32, "");
        assertThat(run.console()).contains("Hello from a Stratus test guest");
        assertThat(run.exit().reason()).isEqualTo(VmExit.Reason.POWER_OFF);
        assertThat(run.exit().detail()).isEqualTo("ACPI S5");
        assertThat(run.exit().isClean()).isTrue();
    }

    @Test
    void vcpusStartedHeldEnterTheGuestOnlyWhenResumed() throws InterruptedException {
        VmConfig config = VmConfig.builder(TestGuests.image("hello.elf")).name("held").vcpus(2).memoryMiB(32).build();
        ConsoleBuffer console = new ConsoleBuffer(64 * 1024);
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            vm.startHeld();
            assertThat(vm.state()).isEqualTo(VirtualMachine.State.PAUSED);
            assertThat(vm.awaitExit(Duration.ofMillis(300))).isEmpty();
            assertThat(console.text()).as("nothing ran while held").isEmpty();

            vm.resume();
            VmExit exit = vm.awaitExit(RUN_LIMIT).orElseThrow(() -> new AssertionError(console.text()));
            assertThat(exit.reason()).isEqualTo(VmExit.Reason.POWER_OFF);
            assertThat(console.text()).contains("Hello from a Stratus test guest");
        }
    }

    @Test
    void closingAVmWhoseVcpusAreHeldEndsTheirThreads() throws InterruptedException {
        VmConfig config = VmConfig.builder(TestGuests.image("hello.elf")).name("held-close").vcpus(2).memoryMiB(32)
                .build();
        ConsoleBuffer console = new ConsoleBuffer(64 * 1024);
        VirtualMachine vm = VirtualMachine.create(config, console);
        vm.startHeld();
        assertThatThrownBy(vm::start).isInstanceOf(IllegalStateException.class);
        long before = System.nanoTime();
        vm.close();
        assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(5));
        assertThat(vm.state()).isEqualTo(VirtualMachine.State.CLOSED);
        assertThat(console.text()).isEmpty();
    }

    @Test
    void pvhGuestReceivesStartInfoCmdlineMemoryMapRsdpAndCpuid() throws InterruptedException {
        Run run = boot("bootinfo.elf", 3, 48, "stratus.test=1");
        assertThat(run.exit().reason()).as(run.console()).isEqualTo(VmExit.Reason.POWER_OFF);
        assertThat(run.console())
                .contains("magic=336ec578 version=1")
                .contains("cmdline=stratus.test=1 console=ttyS0")
                .contains("rsdp=ok")
                .contains("hypervisor=KVMKVMKVM hvbit=1 apicid=0 logical=3");
        Matcher ram = Pattern.compile("ramkb=(\\d+)").matcher(run.console());
        assertThat(ram.find()).isTrue();
        // All of the 48 MiB but the EBDA-to-1-MiB hole.
        assertThat(Long.parseLong(ram.group(1))).isEqualTo((48L << 10) - (0x100000 - 0x9fc00) / 1024);
    }

    @Test
    void bzImageGuestEntersThroughTheLinux64BitBootProtocol() throws InterruptedException {
        Run run = boot("bzboot.bzimage", 1, 64, "via=bzimage");
        assertThat(run.exit().reason()).as(run.console()).isEqualTo(VmExit.Reason.POWER_OFF);
        assertThat(run.console()).contains("bzboot loader=0xff hdr=HdrS", "cmdline=via=bzimage console=ttyS0",
                "rsdp=ok", "STRATUS-BZBOOT-END");
        assertThat(run.console()).contains("e820=4 ramkb=" + ((64L << 10) - 385));
    }

    @Test
    void elfWithoutPvhNoteEntersThroughTheLinux64BitBootProtocol() throws InterruptedException {
        Run run = boot("bzboot.elf", 2, 64, "via=elf");
        assertThat(run.exit().reason()).as(run.console()).isEqualTo(VmExit.Reason.POWER_OFF);
        assertThat(run.console()).contains("cmdline=via=elf console=ttyS0", "STRATUS-BZBOOT-END");
    }

    @Test
    void tripleFaultEndsTheRun() throws InterruptedException {
        Run run = boot("triple.elf", 1, 32, "");
        assertThat(run.console()).contains("STRATUS-TRIPLE");
        assertThat(run.exit().reason()).isEqualTo(VmExit.Reason.TRIPLE_FAULT);
    }

    @Test
    void keyboardControllerResetEndsTheRunAsReset() throws InterruptedException {
        Run run = boot("reset.elf", 2, 32, "");
        assertThat(run.console()).contains("STRATUS-RESET");
        assertThat(run.exit().reason()).isEqualTo(VmExit.Reason.RESET);
        assertThat(run.exit().detail()).isEqualTo("i8042 reset");
    }

    @Test
    void aGuestThatArmsItsIb700AndStopsFeedingItIsReportedAndRunsOn() throws InterruptedException {
        // Index 15: the board's 0 s timeout, so that the expiry follows the arming at once.
        VmConfig config = VmConfig.builder(TestGuests.image("watchdog.elf")).name("watchdog").memoryMiB(32)
                .cmdline("wd.index=15").watchdog(true).build();
        ConsoleBuffer console = new ConsoleBuffer(64 * 1024);
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            java.util.concurrent.CountDownLatch expired = new java.util.concurrent.CountDownLatch(1);
            vm.onWatchdog(expired::countDown);
            vm.start();

            assertThat(expired.await(RUN_LIMIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS))
                    .as(console.text()).isTrue();
            assertThat(console.text()).contains("STRATUS-WATCHDOG-ARMED");
            assertThat(vm.state()).as("the owner acts, not the VM").isEqualTo(VirtualMachine.State.RUNNING);
        }
    }

    @Test
    void allVcpusHaltedWithInterruptsOffEndsTheRun() throws InterruptedException {
        Run run = boot("halt.elf", 2, 32, "");
        assertThat(run.console()).contains("STRATUS-HALT");
        assertThat(run.exit().reason()).isEqualTo(VmExit.Reason.HALTED);
    }

    @Test
    void instructionKvmCannotEmulateIsAClearErrorWithRipAndCode() throws InterruptedException {
        Run run = boot("emulfail.elf", 1, 32, "");
        assertThat(run.console()).contains("STRATUS-EMULFAIL").doesNotContain("SURVIVED");
        assertThat(run.exit().reason()).isEqualTo(VmExit.Reason.FAILED);
        assertThat(run.exit().error()).get().isInstanceOf(GuestEmulationException.class);
        GuestEmulationException e = (GuestEmulationException) run.exit().error().orElseThrow();
        assertThat(e.code()).startsWith((byte) 0xd9, (byte) 0x00);
        assertThat(e.rip()).isBetween(0x100000L, 0x200000L);
        assertThat(e.getMessage()).contains("could not emulate", "RIP 0x" + Long.toHexString(e.rip()), "d9 00");
    }

    @Test
    void breakpointAtCpl0ReachesTheGuestsHandlerWithTheRipAfterIt() throws InterruptedException {
        Run run = boot("breakpoint.elf", 1, 32, "");
        Matcher expected = Pattern.compile("expect rip=(0x[0-9a-f]+)").matcher(run.console());
        assertThat(expected.find()).as(run.console()).isTrue();
        assertThat(run.console()).contains("GUEST-EXCEPTION vector=3 rip=" + expected.group(1));
        assertThat(run.exit().reason()).as(run.console()).isEqualTo(VmExit.Reason.POWER_OFF);
    }

    @Test
    void virtioBlockServesATinyDriverAndSurvivesHostileChains(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("disk.img");
        byte[] content = new byte[1 << 20];
        byte[] marker = "SECTOR-ZERO-FROM-THE-HOST".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(marker, 0, content, 0, marker.length);
        Files.write(image, content);
        VmConfig config = VmConfig.builder(TestGuests.image("blkdrv.elf")).name("blkdrv").vcpus(2).memoryMiB(64)
                .disk(DiskConfig.of(image, false)).build();
        ConsoleBuffer console = new ConsoleBuffer(64 * 1024);
        String text;
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            vm.start();
            VmExit exit = vm.awaitExit(RUN_LIMIT).orElseThrow(() -> new AssertionError(console.text()));
            text = console.text();
            assertThat(exit.reason()).as(text).isEqualTo(VmExit.Reason.POWER_OFF);
            assertThat(vm.blockMetrics().get(0).invalidChains()).as("four hostile chains, one broken queue").isEqualTo(5);
        }
        assertThat(text).contains("blkdrv capacity=2048 ro=0 queues=2",
                "blkdrv read0 len=513 status=0", "blkdrv sector0=SECTOR-ZERO-FROM-THE-HOST",
                "blkdrv write2 len=1 status=0", "blkdrv flush len=1 status=0", "blkdrv readback=match",
                "blkdrv getid len=21 status=0", "blkdrv id=disk.img",
                "blkdrv beyond-end len=1 status=1", "blkdrv unsupported len=1 status=2",
                "blkdrv bad-index len=0", "blkdrv loop len=0", "blkdrv outside-ram len=0", "blkdrv huge-length len=0",
                "blkdrv after-hostile len=513 status=0", "blkdrv needs-reset=1", "blkdrv queue1 len=513 status=0",
                "STRATUS-BLKDRV-END");
        byte[] written = java.util.Arrays.copyOfRange(Files.readAllBytes(image), 1024, 1049);
        assertThat(new String(written, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("STRATUS-BLK-WRITE-PATTERN");
    }

    /**
     * A root volume: the guest's first disk (vda) is an NBD export served by Debian's qemu-nbd,
     * its serial the volume id's first 20 bytes, its writes in the served file.
     */
    @Test
    void aDiskOnAnNbdExportIsTheGuestsFirstDiskWithTheVolumeIdAsItsSerial(@TempDir Path dir) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(onPath("qemu-nbd"), "qemu-nbd is not installed (Debian:"
                + " qemu-utils): a disk on an NBD export is not booted");
        Path image = dir.resolve("volume.raw");
        byte[] content = new byte[1 << 20];
        byte[] marker = "SECTOR-ZERO-FROM-THE-HOST".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(marker, 0, content, 0, marker.length);
        Files.write(image, content);
        Path sockets = Files.createTempDirectory(Path.of("/tmp"), "nbdroot");
        Path socket = sockets.resolve("root.sock");
        Process server = io.stratus.kvm.testing.NbdSockets.serveRaw(image, socket, dir.resolve("qemu-nbd.log"));
        String volumeId = "7d0c9e8a-1b2c-4d3e-8f9a-0b1c2d3e4f50";
        try {
            VmConfig config = VmConfig.builder(TestGuests.image("blkdrv.elf")).name("nbdroot").vcpus(2).memoryMiB(64)
                    .disk(DiskConfig.nbd(io.stratus.kvm.virtio.block.NbdVolume.unix(volumeId, socket.toString(), "vol",
                            false))).build();
            ConsoleBuffer console = new ConsoleBuffer(64 * 1024);
            String text;
            try (VirtualMachine vm = VirtualMachine.create(config, console)) {
                assertThat(vm.blockDevices().get(0).volume()).isPresent();
                vm.start();
                VmExit exit = vm.awaitExit(RUN_LIMIT).orElseThrow(() -> new AssertionError(console.text()));
                text = console.text();
                assertThat(exit.reason()).as(text).isEqualTo(VmExit.Reason.POWER_OFF);
            }
            assertThat(text).contains("blkdrv capacity=2048 ro=0 queues=2",
                    "blkdrv sector0=SECTOR-ZERO-FROM-THE-HOST", "blkdrv readback=match",
                    "blkdrv id=" + volumeId.substring(0, 20), "blkdrv beyond-end len=1 status=1",
                    "STRATUS-BLKDRV-END");
            byte[] written = java.util.Arrays.copyOfRange(Files.readAllBytes(image), 1024, 1049);
            assertThat(new String(written, java.nio.charset.StandardCharsets.US_ASCII))
                    .isEqualTo("STRATUS-BLK-WRITE-PATTERN");
        } finally {
            server.destroyForcibly().waitFor();
            Files.deleteIfExists(socket);
            Files.deleteIfExists(sockets);
        }
    }

    private static boolean onPath(String tool) {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
                .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    @Test
    void theEntropyDeviceFillsTheGuestsBuffersWithRandomBytes() throws Exception {
        VmConfig config = VmConfig.builder(TestGuests.image("rngdrv.elf")).name("rngdrv").memoryMiB(64).noBalloon()
                .entropy(true).build();
        ConsoleBuffer console = new ConsoleBuffer(64 * 1024);
        String text;
        long served;
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            vm.start();
            VmExit exit = vm.awaitExit(RUN_LIMIT).orElseThrow(() -> new AssertionError(console.text()));
            text = console.text();
            assertThat(exit.reason()).as(text).isEqualTo(VmExit.Reason.POWER_OFF);
            served = vm.entropy().orElseThrow().bytesServed();
        }
        assertThat(text).contains("rngdrv readable len=0", "rngdrv after len=64", "STRATUS-RNGDRV-END");
        Matcher m = Pattern.compile("rngdrv len=(\\d+) zero=(\\d+) (\\S+)")
                .matcher(text);
        List<String> firstBytes = new ArrayList<>();
        while (m.find()) {
            assertThat(m.group(1)).as(text).isEqualTo("64");
            // 64 random bytes hold a few zeros at most (1/256 each); an unfilled buffer holds 64.
            assertThat(Integer.parseInt(m.group(2))).as(text).isLessThan(8);
            firstBytes.add(m.group(3));
        }
        assertThat(firstBytes).as(text).hasSize(2).doesNotHaveDuplicates();
        assertThat(served).isEqualTo(3 * 64);
    }

    @Test
    void virtioBlockOverAQcow2OverlayWritesTheOverlayAndNeverTheBase(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("base.raw");
        byte[] content = new byte[1 << 20];
        byte[] marker = "SECTOR-ZERO-FROM-THE-HOST".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(marker, 0, content, 0, marker.length);
        Files.write(base, content);
        Path overlay = dir.resolve("disk.qcow2");
        io.stratus.kvm.virtio.block.Qcow2Image.create(overlay, base, 1 << 20);
        long before = Files.size(overlay);
        VmConfig config = VmConfig.builder(TestGuests.image("blkdrv.elf")).name("blkdrv-qcow2").vcpus(2).memoryMiB(64)
                .disk(DiskConfig.of(overlay, false)).build();
        ConsoleBuffer console = new ConsoleBuffer(64 * 1024);
        String text;
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            vm.start();
            VmExit exit = vm.awaitExit(RUN_LIMIT).orElseThrow(() -> new AssertionError(console.text()));
            text = console.text();
            assertThat(exit.reason()).as(text).isEqualTo(VmExit.Reason.POWER_OFF);
        }
        assertThat(text).contains("blkdrv capacity=2048 ro=0 queues=2", "blkdrv read0 len=513 status=0",
                "blkdrv sector0=SECTOR-ZERO-FROM-THE-HOST", "blkdrv write2 len=1 status=0",
                "blkdrv flush len=1 status=0", "blkdrv readback=match", "blkdrv beyond-end len=1 status=1",
                "blkdrv after-hostile len=513 status=0", "blkdrv queue1 len=513 status=0", "STRATUS-BLKDRV-END");
        assertThat(Files.readAllBytes(base)).as("the base, byte for byte").isEqualTo(content);
        assertThat(Files.size(overlay)).as("the written cluster landed in the overlay").isGreaterThan(before);
        try (io.stratus.kvm.virtio.block.DiskImage disk = io.stratus.kvm.virtio.block.DiskImage.open(overlay, true);
             com.sun.jna.Memory buffer = new com.sun.jna.Memory(2048)) {
            disk.read(new long[] {com.sun.jna.Pointer.nativeValue(buffer)}, new long[] {2048}, 1, 0);
            assertThat(new String(buffer.getByteArray(0, marker.length), java.nio.charset.StandardCharsets.US_ASCII))
                    .isEqualTo("SECTOR-ZERO-FROM-THE-HOST");
            assertThat(new String(buffer.getByteArray(1024, 25), java.nio.charset.StandardCharsets.US_ASCII))
                    .isEqualTo("STRATUS-BLK-WRITE-PATTERN");
        }
    }

    @Test
    void readOnlyDiskRefusesGuestWrites(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("ro.img");
        Files.write(image, new byte[1 << 20]);
        VmConfig config = VmConfig.builder(TestGuests.image("blkdrv.elf")).name("blkdrv-ro").memoryMiB(64)
                .disk(DiskConfig.of(image, true)).build();
        ConsoleBuffer console = new ConsoleBuffer(64 * 1024);
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            vm.start();
            vm.awaitExit(RUN_LIMIT).orElseThrow(() -> new AssertionError(console.text()));
        }
        assertThat(console.text()).contains("blkdrv capacity=2048 ro=1 queues=1", "blkdrv write2 len=1 status=1",
                "blkdrv readback=differs");
        assertThat(Files.readAllBytes(image)).containsOnly(0);
    }

    @Test
    void hostStopsARunningGuest() throws InterruptedException {
        VmConfig config = VmConfig.builder(TestGuests.image("spin.elf")).name("spin").vcpus(2).memoryMiB(32).build();
        ConsoleBuffer console = new ConsoleBuffer(4096);
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            vm.start();
            assertThat(console.await(Pattern.compile("STRATUS-SPIN"), RUN_LIMIT)).isPresent();
            assertThat(vm.awaitExit(Duration.ofMillis(300))).as("still spinning").isEmpty();
            Duration busy = vm.vcpuTime();
            // One vCPU spins in user mode: its thread's CPU time grows while the guest runs (how
            // fast depends on what else the host's cores do, so wait for it rather than time it).
            long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (vm.vcpuTime().minus(busy).compareTo(Duration.ofMillis(100)) <= 0 && System.nanoTime() < until) {
                assertThat(vm.awaitExit(Duration.ofMillis(100))).isEmpty();
            }
            assertThat(vm.vcpuTime().minus(busy)).isGreaterThan(Duration.ofMillis(100));
            long start = System.nanoTime();
            vm.stop();
            VmExit exit = vm.awaitExit(Duration.ofSeconds(10)).orElseThrow();
            assertThat(exit.reason()).isEqualTo(VmExit.Reason.STOPPED);
            Duration total = vm.vcpuTime();
            assertThat(vm.vcpuTime()).as("frozen once the vCPUs ended").isEqualTo(total).isGreaterThan(busy);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            assertThat(vm.state()).isEqualTo(VirtualMachine.State.EXITED);
        }
    }

    @Test
    void guestsInOneJvmRunSideBySideAndReleaseEveryDescriptor() throws Exception {
        long before = openDescriptors();
        for (int round = 0; round < 3; round++) {
            VmConfig a = VmConfig.builder(TestGuests.image("hello.elf")).name("a").memoryMiB(32).build();
            VmConfig b = VmConfig.builder(TestGuests.image("spin.elf")).name("b").vcpus(2).memoryMiB(32).build();
            ConsoleBuffer ca = new ConsoleBuffer(4096);
            try (VirtualMachine va = VirtualMachine.create(a, ca);
                 VirtualMachine vb = VirtualMachine.create(b, new ConsoleBuffer(4096))) {
                vb.start();
                va.start();
                assertThat(va.awaitExit(RUN_LIMIT).orElseThrow().reason()).isEqualTo(VmExit.Reason.POWER_OFF);
                assertThat(vb.awaitExit(Duration.ofMillis(100))).as("the other guest is unaffected").isEmpty();
            }
            assertThat(ca.text()).contains("Hello from a Stratus test guest");
        }
        assertThat(openDescriptors()).isLessThanOrEqualTo(before);
    }

    private static long openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    @Test
    void diskInUseByAnotherGuestIsRefusedBeforeBoot(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("shared.img");
        Files.write(image, new byte[1 << 20]);
        VmConfig first = VmConfig.builder(TestGuests.image("spin.elf")).name("first").memoryMiB(32)
                .disk(DiskConfig.of(image, false)).build();
        try (VirtualMachine vm = VirtualMachine.create(first, new ConsoleBuffer(4096))) {
            vm.start();
            long fds = openDescriptors();
            assertThatThrownBy(() -> VirtualMachine.create(VmConfig.builder(TestGuests.image("hello.elf")).name("second")
                    .memoryMiB(32).disk(DiskConfig.of(image, true)).build(), new ConsoleBuffer(16)))
                    .isInstanceOf(io.stratus.kvm.virtio.block.DiskImageException.class)
                    .hasMessageContaining("in use by another guest");
            assertThat(openDescriptors()).as("nothing leaked by the refused guest").isLessThanOrEqualTo(fds);
            assertThat(vm.awaitExit(Duration.ofMillis(100))).as("the first guest runs on").isEmpty();
        }
    }

    /** The kernel is loaded into a VM that KVM has made: these need it. VmConfigTest has the others. */
    @Test
    void unusableKernelsAndCmdlinesFailBeforeAnythingRuns(@TempDir Path dir) throws IOException {
        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "not a kernel");
        assertThatThrownBy(() -> VirtualMachine.create(VmConfig.builder(text).build(), new ConsoleBuffer(16)))
                .isInstanceOf(KernelLoadException.class);
        assertThatThrownBy(() -> VirtualMachine.create(VmConfig.builder(TestGuests.image("hello.elf"))
                .cmdline("bad\u00ffchar").build(), new ConsoleBuffer(16)))
                .isInstanceOf(VmConfigException.class).hasMessageContaining("non-ASCII");
    }
}
