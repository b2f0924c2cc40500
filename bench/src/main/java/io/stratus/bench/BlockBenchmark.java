package io.stratus.bench;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * virtio-blk throughput measured inside the guest: the kit's test kernel runs blkbench (guests/
 * blkbench.c, O_DIRECT, timed by the guest's clock) against a raw disk, sequential 1 MiB and
 * random 4 KiB, reads and writes, on each VMM with the same disk file and page-cache behaviour.
 */
public final class BlockBenchmark {
    static final Pattern RESULT = Pattern.compile("BLKBENCH mode=(\\w+) bs=(\\d+) ops=(\\d+) bytes=(\\d+) usec=(\\d+)");
    static final long TARGET_BYTES = 256L << 20;

    private BlockBenchmark() {
    }

    public static BenchReport run(Path kit, Path guests, Path work, List<Vmm> vmms, int runs, Duration limit)
            throws Exception {
        Path tools = toolsImage(guests, work);
        Samples samples = new Samples();
        List<String> notes = new ArrayList<>();
        for (int run = 0; run < runs; run++) {
            for (Vmm vmm : vmms) {
                Path target = target(work.resolve("blk-target-" + vmm.name() + ".img"));
                GuestSpec guest = new GuestSpec(kit.resolve("test-kernel/vmlinux"), kit.resolve("initramfs.cpio"),
                        "panic=-1 stratus.run=/mnt/bench.sh", 256, 1,
                        List.of(new GuestSpec.Disk(tools, true), new GuestSpec.Disk(target, false)));
                Vmm.GuestRun r = vmm.run(guest, limit);
                int found = collect(r.console(), samples, vmm.name());
                if (found < 4) {
                    notes.add(vmm.name() + " run " + run + " reported " + found + " of 4 results (" + r.outcome()
                            + "): " + r.console().tail(4));
                }
                Files.deleteIfExists(target);
            }
        }
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("guest", "kit test kernel, 1 vCPU, 256 MiB; tools disk (ro) + 256 MiB raw target disk");
        setup.put("tool", "guests/blkbench.c, O_DIRECT; seq 64 x 1 MiB, random 1000 x 4 KiB");
        setup.put("runs", Integer.toString(runs));
        return new BenchReport("blk", setup, measurements(samples), notes);
    }

    /**
     * Adds blkbench's results on {@code console} to {@code samples} under {@code column}: MiB/s for
     * the sequential patterns, IOPS for the random ones; returns how many it found.
     */
    static int collect(ConsoleTimeline console, Samples samples, String column) {
        int found = 0;
        for (String line : console.lines()) {
            Matcher m = RESULT.matcher(line);
            if (m.find()) {
                found++;
                String mode = m.group(1);
                double seconds = Long.parseLong(m.group(5)) / 1e6;
                if (mode.startsWith("seq")) {
                    samples.add(mode, column, Long.parseLong(m.group(4)) / seconds / (1 << 20));
                } else {
                    samples.add(mode, column, Long.parseLong(m.group(3)) / seconds);
                }
            }
        }
        return found;
    }

    /** The four patterns' measurements, in the order the guest runs them. */
    static List<Measurement> measurements(Samples samples) {
        return List.of(samples.measurement("seqread", "MiB/s", true), samples.measurement("seqwrite", "MiB/s", true),
                samples.measurement("randread", "IOPS", true), samples.measurement("randwrite", "IOPS", true));
    }

    /** A fresh sparse raw target disk of {@link #TARGET_BYTES}. */
    static Path target(Path file) throws IOException {
        Files.deleteIfExists(file);
        try (FileChannel f = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            f.write(java.nio.ByteBuffer.wrap(new byte[1]), TARGET_BYTES - 1);
        }
        return file;
    }

    /** An ext4 image holding blkbench and the script the guest's init runs. */
    static Path toolsImage(Path guests, Path work) throws IOException, InterruptedException {
        Path tree = work.resolve("blk-tools");
        Files.createDirectories(tree);
        Files.copy(guests.resolve("blkbench"), tree.resolve("blkbench"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path script = tree.resolve("bench.sh");
        Files.writeString(script, String.join("\n",
                "#!/bin/sh",
                "/mnt/blkbench /dev/vdb seqwrite 1048576 64",
                "/mnt/blkbench /dev/vdb seqread 1048576 64",
                "/mnt/blkbench /dev/vdb randwrite 4096 1000",
                "/mnt/blkbench /dev/vdb randread 4096 1000",
                ""));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(tree.resolve("blkbench"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Path image = work.resolve("blk-tools.img");
        Process p = new ProcessBuilder("mkfs.ext4", "-q", "-F", "-d", tree.toString(), image.toString(), "16M")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException("mkfs.ext4 failed: " + out);
        }
        return image;
    }
}
