package io.stratus.kvm.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.testing.GuestKit;
import io.stratus.kvm.testing.RequiresKvm;
import io.stratus.kvm.virtio.balloon.VirtioBalloon;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test kernel's virtio-balloon driver against the VMM's device, in one boot: statistics
 * match /proc/meminfo, free page reporting returns a large freed allocation to the host, and
 * inflating lowers the guest's MemAvailable and the host memory its RAM holds; deflating gives
 * it back. Host memory is measured as the resident part of guest RAM (mincore), the share of
 * the process's RSS the guest accounts for.
 */
@Tag("linux")
@RequiresKvm
class LinuxBalloonTest {
    private static final long MIB = 1L << 20;
    private static final int FILE_MIB = 24;
    private static final Duration STEP = Duration.ofSeconds(120);
    private static final Pattern MEMINFO = Pattern.compile(
            "MemTotal:\\s+(\\d+) kB\\s+MemFree:\\s+(\\d+) kB\\s+MemAvailable:\\s+(\\d+) kB");

    private record MemInfo(long total, long free, long available) {
    }

    @Test
    @Timeout(600)
    void balloonStatisticsInflateDeflateAndFreePageReporting(@TempDir Path dir) throws Exception {
        Path tree = Files.createDirectory(dir.resolve("tree"));
        byte[] chunk = new byte[1 << 20];
        new Random(3).nextBytes(chunk);
        try (var out = Files.newOutputStream(tree.resolve("big.bin"))) {
            for (int i = 0; i < FILE_MIB; i++) {
                out.write(chunk);
            }
        }
        Path disk = dir.resolve("cache.img");
        Process mkfs = new ProcessBuilder("mkfs.ext4", "-q", "-F", "-d", tree.toString(), disk.toString(), "40M")
                .redirectErrorStream(true).start();
        assertThat(mkfs.waitFor()).isZero();

        // A small guest, because every page the guest kernel touches costs milliseconds where KVM
        // emulates kernel code.
        VmConfig config = VmConfig.builder(GuestKit.file("test-kernel/vmlinux")).name("balloon")
                .initrd(GuestKit.file("initramfs.cpio")).vcpus(1).memoryMiB(64)
                .cmdline("panic=-1 stratus.run=/bin/sh")
                .disk(DiskConfig.of(disk, true)).balloon(Duration.ofSeconds(1)).build();
        ConsoleBuffer console = new ConsoleBuffer(1 << 20);
        try (VirtualMachine vm = VirtualMachine.create(config, console)) {
            vm.start();
            assertThat(console.await(Pattern.compile("STRATUS-RUN-BEGIN /bin/sh"), Duration.ofSeconds(300)))
                    .as(console.text()).isPresent();
            VirtioBalloon balloon = vm.balloon().orElseThrow();
            LongSupplier resident = () -> vm.memory().residentBytes();

            // Statistics: the figures the guest sends are its /proc/meminfo.
            MemInfo info = meminfo(vm, console, 1);
            long seen = System.currentTimeMillis();
            awaitTrue(() -> balloon.stats().map(s -> s.at() > seen).orElse(false), "fresh balloon statistics", console);
            VirtioBalloon.MemoryStats stats = balloon.stats().orElseThrow();
            assertThat(stats.total()).isEqualTo(info.total() * 1024);
            assertThat(stats.free()).isCloseTo(info.free() * 1024, within(4 * MIB));
            assertThat(stats.available()).isCloseTo(info.available() * 1024, within(4 * MIB));
            assertThat(stats.minorFaults()).as("event counters reach the host").isPositive();

            // Inflate: with a file in the page cache (written into guest RAM by the virtio-blk
            // device, so resident on the host), a balloon larger than the free memory makes the
            // guest give up cache pages, and the host gets them back.
            run(vm, console, "cat /mnt/big.bin > /dev/null", "CACHED");
            MemInfo cached = meminfo(vm, console, 2);
            long cachedResident = resident.getAsLong();
            long target = ((cached.available() << 10) - 10 * MIB) & -MIB;
            assertThat(target).as("balloon target above the free memory").isGreaterThan((cached.free() << 10) + 8 * MIB);
            balloon.setTarget(target);
            awaitTrue(() -> balloon.actualBytes() == target, "the guest to inflate to " + (target >> 20) + " MiB", console);
            MemInfo inflated = meminfo(vm, console, 3);
            long inflatedResident = resident.getAsLong();
            System.out.printf("inflate to %d MiB: guest RAM resident %d -> %d MiB, MemAvailable %d -> %d MiB%n",
                    target >> 20, cachedResident / MIB, inflatedResident / MIB, cached.available() >> 10,
                    inflated.available() >> 10);
            assertThat(cachedResident - inflatedResident).as("host memory returned by inflating")
                    .isGreaterThan(6 * MIB);
            assertThat(cached.available() - inflated.available()).as("guest MemAvailable drop, kB")
                    .isGreaterThan((target >> 10) - 4096);
            assertThat(balloon.inflatedBytes()).isGreaterThanOrEqualTo(target);

            // Deflate: the guest has its memory back.
            balloon.setTarget(0);
            awaitTrue(() -> balloon.actualBytes() == 0, "the guest to deflate", console);
            MemInfo deflated = meminfo(vm, console, 4);
            assertThat(deflated.available() - inflated.available()).as("guest MemAvailable regained, kB")
                    .isGreaterThan((target >> 10) - 4096);
            assertThat(balloon.deflatedBytes()).isEqualTo(balloon.inflatedBytes());

            // Free page reporting: the guest frees a large amount of memory (the file's page cache,
            // read again) and the freed pages leave host memory without any balloon target.
            // Linux reports only while 32 blocks of the reporting order are free on top of the low
            // watermark; the driver's registration sets that order to pageblock_order (4 MiB here,
            // so 128 MiB free, more than this guest has) and overrides the boot parameter, so the
            // order is lowered at run time to 128 KiB blocks, which suits a 64 MiB guest.
            run(vm, console, "mount -t sysfs sysfs /sys; echo 5 > /sys/module/page_reporting/parameters/page_reporting_order",
                    "ORDER-SET");
            run(vm, console, "cat /mnt/big.bin > /dev/null", "CACHED-AGAIN");
            long filled = resident.getAsLong();
            long reportedBefore = balloon.reportedBytes();
            run(vm, console, "echo 1 > /proc/sys/vm/drop_caches", "DROPPED");
            awaitTrue(() -> resident.getAsLong() < filled - 12 * MIB, "freed pages reported and returned", console);
            System.out.printf("reporting: guest RAM resident %d -> %d MiB, %d MiB reported%n", filled / MIB,
                    resident.getAsLong() / MIB, (balloon.reportedBytes() - reportedBefore) / MIB);
            assertThat(balloon.reportedBytes() - reportedBefore).isGreaterThanOrEqualTo(12 * MIB);

            send(vm, "exit\n");
            VmExit exit = vm.awaitExit(STEP).orElseThrow(() -> new AssertionError(console.text()));
            assertThat(exit.reason()).as(console.text()).isEqualTo(VmExit.Reason.POWER_OFF);
        }
    }

    private static void send(VirtualMachine vm, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        assertThat(vm.sendConsoleInput(bytes, 0, bytes.length)).isEqualTo(bytes.length);
    }

    /** Runs a shell command and waits for its marker on a line of its own (the tty echoes the command line). */
    private static void run(VirtualMachine vm, ConsoleBuffer console, String command, String marker)
            throws InterruptedException {
        long t0 = System.nanoTime();
        send(vm, command + "; echo " + marker + "\n");
        assertThat(console.await(Pattern.compile("\n" + marker + "\r?\n"), STEP)).as(console.text()).isPresent();
        System.out.printf("%s: %d ms%n", command, (System.nanoTime() - t0) / 1_000_000);
    }

    /** /proc/meminfo's first three lines, from the block printed right before its marker. */
    private static MemInfo meminfo(VirtualMachine vm, ConsoleBuffer console, int n) throws InterruptedException {
        String marker = "\nMEMINFO-" + n;
        send(vm, "cat /proc/meminfo; echo MEMINFO-" + n + "\n");
        assertThat(console.await(Pattern.compile(marker + "\r?\n"), STEP)).as(console.text()).isPresent();
        String text = console.text();
        String block = text.substring(text.lastIndexOf("MemTotal:", text.indexOf(marker)));
        Matcher m = MEMINFO.matcher(block);
        assertThat(m.lookingAt()).as(block).isTrue();
        return new MemInfo(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)));
    }

    private interface Condition {
        boolean holds();
    }

    private static void awaitTrue(Condition c, String what, ConsoleBuffer console) throws InterruptedException {
        long t0 = System.nanoTime();
        long deadline = t0 + STEP.toNanos();
        while (!c.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "; console:\n" + console.text());
            }
            Thread.sleep(100);
        }
        System.out.printf("%s: %d ms%n", what, (System.nanoTime() - t0) / 1_000_000);
    }
}
