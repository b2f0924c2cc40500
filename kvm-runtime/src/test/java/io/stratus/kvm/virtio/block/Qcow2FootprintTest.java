package io.stratus.kvm.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What overlays cost: the disk space of ten guests' overlays over one base, and sequential reads
 * through an overlay against the base read directly. The figures are printed for the record; only
 * the space is asserted (timings depend on the host).
 */
@Timeout(300)
class Qcow2FootprintTest {
    private static final int BASE_MIB = 128;
    private static final int GUESTS = 10;

    @TempDir
    Path dir;

    /** Bytes the file system allocated to {@code file} (st_blocks * 512). */
    private static long allocated(Path file) throws IOException, InterruptedException {
        String out = QemuImg.ok("stat", "--format=%b", file).trim();
        return Long.parseLong(out) * 512;
    }

    private Path base() throws IOException {
        Path base = dir.resolve("base.raw");
        Random r = new Random(1);
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(base)) {
            for (int i = 0; i < BASE_MIB; i++) {
                r.nextBytes(chunk);
                out.write(chunk);
            }
        }
        return base;
    }

    @Test
    void tenOverlaysOverOneBaseUseAFewMegabytesAndReadAtTheBasesSpeed() throws Exception {
        Path base = base();
        long baseAllocated = allocated(base);
        Random r = new Random(2);
        List<Path> sequential = new ArrayList<>();
        List<Path> scattered = new ArrayList<>();
        try (Memory data = new Memory(1 << 20)) {
            data.write(0, new byte[1 << 20], 0, 1 << 20);
            for (int g = 0; g < GUESTS; g++) {
                // Each guest writes 1 MiB: in one sequential run, or as 256 scattered 4 KiB writes.
                Path seq = dir.resolve("seq-" + g + ".qcow2");
                Qcow2Image.create(seq, base, 1L << 30);
                try (DiskImage disk = DiskImage.open(seq, false)) {
                    disk.write(new long[] {Pointer.nativeValue(data)}, new long[] {1 << 20}, 1, (long) g << 20);
                    disk.flush();
                }
                sequential.add(seq);
                Path sc = dir.resolve("scattered-" + g + ".qcow2");
                Qcow2Image.create(sc, base, 1L << 30);
                try (DiskImage disk = DiskImage.open(sc, false)) {
                    for (int i = 0; i < 256; i++) {
                        long at = (long) r.nextInt((BASE_MIB << 20) / 4096) * 4096;
                        disk.write(new long[] {Pointer.nativeValue(data)}, new long[] {4096}, 1, at);
                    }
                    disk.flush();
                }
                scattered.add(sc);
            }
        }
        long seqTotal = 0;
        long scatteredTotal = 0;
        for (int g = 0; g < GUESTS; g++) {
            seqTotal += allocated(sequential.get(g));
            scatteredTotal += allocated(scattered.get(g));
        }
        long fresh = allocated(create(base, "fresh.qcow2"));
        System.out.printf("qcow2 footprint: base %d MiB allocated; a fresh overlay %d KiB;%n"
                        + "  %d overlays after 1 MiB sequential each: %d KiB together (%.1f%% of the base);%n"
                        + "  %d overlays after 256 scattered 4 KiB writes each: %d KiB together (%.1f%% of the base)%n",
                baseAllocated >> 20, fresh >> 10, GUESTS, seqTotal >> 10, 100.0 * seqTotal / baseAllocated, GUESTS,
                scatteredTotal >> 10, 100.0 * scatteredTotal / baseAllocated);
        assertThat(fresh).isLessThanOrEqualTo(256 << 10);
        assertThat(seqTotal).as("1 MiB of data and a few metadata clusters per guest").isLessThan(GUESTS * (2L << 20));
        // A 4 KiB write copies its whole 64 KiB cluster: at most 256 clusters per guest.
        assertThat(scatteredTotal).isLessThan(GUESTS * (17L << 20));

        Path fresh2 = create(base, "read.qcow2");
        for (int request : new int[] {1 << 20, 64 << 10}) {
            double rawMiBs = readThroughput(base, request);
            double overlayMiBs = readThroughput(fresh2, request);
            double writtenMiBs = readThroughput(sequential.get(0), request);
            System.out.printf("sequential reads of %d MiB in %d KiB requests (page cache warm): raw base %.0f MiB/s,"
                    + " fresh overlay (all from the base) %.0f MiB/s, overlay with 1 MiB written %.0f MiB/s%n",
                    BASE_MIB, request >> 10, rawMiBs, overlayMiBs, writtenMiBs);
        }
    }

    private Path create(Path base, String name) {
        Path p = dir.resolve(name);
        Qcow2Image.create(p, base, 1L << 30);
        return p;
    }

    /** Best of three sequential passes over the first BASE_MIB MiB, after a warm-up pass. */
    private static double readThroughput(Path image, int request) throws IOException {
        double best = 0;
        try (DiskImage disk = DiskImage.open(image, true); Memory buffer = new Memory(request)) {
            long[] address = {Pointer.nativeValue(buffer)};
            long[] length = {request};
            for (int pass = 0; pass < 4; pass++) {
                long start = System.nanoTime();
                for (long at = 0; at < (long) BASE_MIB << 20; at += request) {
                    disk.read(address, length, 1, at);
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                if (pass > 0) {
                    best = Math.max(best, BASE_MIB / seconds);
                }
            }
        }
        return best;
    }
}
