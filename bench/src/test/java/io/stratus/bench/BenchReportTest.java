package io.stratus.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchReportTest {

    @Test
    void statsTakeTheMedianOfOddAndEvenCounts() {
        assertThat(Stats.of(List.of(3.0, 1.0, 2.0))).isEqualTo(new Stats(1, 2, 3, 3));
        assertThat(Stats.of(List.of(4.0, 1.0, 2.0, 3.0)).median()).isEqualTo(2.5);
        assertThat(Stats.of(List.of()).count()).isZero();
    }

    @Test
    void ratioIsStratusMedianOverQemuMedian() {
        Measurement m = new Measurement("start to userspace", "s", false,
                Map.of("stratus", Stats.of(List.of(50.0, 52.0, 54.0)), "qemu-microvm", Stats.of(List.of(60.0, 65.0))));
        assertThat(m.ratio("stratus", "qemu-microvm")).isEqualTo(52.0 / 62.5);
    }

    @Test
    void printsOneJsonObjectAndATable() {
        Measurement m = new Measurement("port writes", "exits/s", true,
                Map.of("stratus", Stats.of(List.of(100.0)), "qemu-microvm", Stats.of(List.of(80.0))));
        BenchReport report = new BenchReport("exits", Map.of("runs", "1"), List.of(m), List.of("a \"quoted\" note"));
        String json = report.json();
        assertThat(json).startsWith("{\"benchmark\":\"exits\"").endsWith("}")
                .contains("\"ratio_stratus_to_qemu\":1.2500", "\"higher_is_better\":true",
                        "\"stratus\":{\"min\":100,\"median\":100,\"max\":100,\"runs\":1}", "a \\\"quoted\\\" note");
        assertThat(json.chars().filter(c -> c == '{').count()).isEqualTo(json.chars().filter(c -> c == '}').count());
        assertThat(report.table()).contains("port writes", "1.25 (higher better)");
    }

    @Test
    void timelineStampsMarkersWhenTheirLineCompletes() throws InterruptedException {
        ConsoleTimeline t = new ConsoleTimeline(System.nanoTime());
        byte[] text = "booting\nSTRATUS-GUEST-READY cpus=1 memkb=1\npartial".getBytes(StandardCharsets.US_ASCII);
        t.write(text, 0, 10);
        assertThat(t.secondsUntil("STRATUS-GUEST-READY")).isNaN();
        t.write(text, 10, text.length - 10);
        assertThat(t.secondsUntil("STRATUS-GUEST-READY")).isGreaterThanOrEqualTo(0);
        assertThat(t.await("STRATUS-GUEST-READY", 10)).isTrue();
        assertThat(t.lines()).containsExactly("booting", "STRATUS-GUEST-READY cpus=1 memkb=1");
        assertThat(t.secondsUntil("partial")).as("no newline yet").isNaN();
    }

    @Test
    void qemuGetsTheSameGuestAsStratus() {
        GuestSpec g = new GuestSpec(java.nio.file.Path.of("/k"), java.nio.file.Path.of("/i"), "panic=-1", 256, 2,
                List.of(new GuestSpec.Disk(java.nio.file.Path.of("/d.img"), true)));
        List<String> c = Qemu.command(g);
        assertThat(c).containsSequence("-m", "256M").containsSequence("-smp", "2")
                .containsSequence("-kernel", "/k").containsSequence("-initrd", "/i")
                .containsSequence("-append", ("console=ttyS0 panic=-1" + (Qemu.kvm() ? "" : Qemu.tcgTsc())).trim())
                .contains("id=d0,file=/d.img,format=raw,if=none,readonly=on", "virtio-blk-device,drive=d0");
        // KVM where /dev/kvm works; QEMU's own emulator where it does not.
        assertThat(String.join(" ", c)).contains("-M microvm", Qemu.kvm() ? "-enable-kvm" : "-accel tcg");
    }

    @Test
    void qemuReachesADiskOverNbdWithItsOwnClient() {
        GuestSpec g = new GuestSpec(java.nio.file.Path.of("/k"), null, "", 256, 1, List.of(
                new GuestSpec.Disk(java.nio.file.Path.of("/tools.img"), true),
                GuestSpec.Disk.overNbd(java.nio.file.Path.of("/vol.img"), java.nio.file.Path.of("/w/nbd.sock"))));
        assertThat(Qemu.command(g)).contains("id=d1,file=nbd+unix:///vol?socket=/w/nbd.sock,format=raw,if=none",
                "virtio-blk-device,drive=d1").noneMatch(a -> a.contains("/vol.img"));
    }

    @Test
    void volumeReportPrintsNbdOverLocalPerVmmAndStratusOverQemuPerPath() {
        Vmm stratus = new StratusVmm();
        Vmm qemu = Qemu.vmm();
        Measurement m = new Measurement("seqread", "MiB/s", true, Map.of(
                "qemu-local", Stats.of(List.of(10.0)), "qemu-nbd", Stats.of(List.of(8.0)),
                "stratus-local", Stats.of(List.of(12.0)), "stratus-nbd", Stats.of(List.of(6.0))));
        BenchReport report = new BenchReport("volume", Map.of(), List.of(m), List.of(),
                VolumeBenchmark.ratios(List.of(stratus, qemu)));
        assertThat(report.json()).contains("\"ratio_qemu-nbd_to_qemu-local\":0.8000",
                "\"ratio_stratus-nbd_to_stratus-local\":0.5000", "\"ratio_stratus-nbd_to_qemu-nbd\":0.7500",
                "\"ratio_stratus-local_to_qemu-local\":1.2000");
        assertThat(report.table()).contains("qemu-nbd/qemu-local", "stratus-nbd/qemu-nbd", "0.75 (higher better)");
        // Without the kvm engine, QEMU's own ratio only.
        assertThat(VolumeBenchmark.ratios(List.of(qemu)))
                .containsExactly(new BenchReport.Ratio("qemu-nbd", "qemu-local"));
    }
}
