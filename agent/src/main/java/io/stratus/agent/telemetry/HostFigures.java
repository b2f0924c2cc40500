package io.stratus.agent.telemetry;

import io.stratus.agent.instance.InstanceRecord;
import io.stratus.kvm.memory.KsmHost;
import io.stratus.proto.v1.Resources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Figures of the host itself: memory from /proc/meminfo, KSM savings, what the instances hold. */
public final class HostFigures {
    private HostFigures() {
    }

    /** MemTotal and MemAvailable in bytes; zeros where /proc/meminfo cannot be read. */
    public static long[] memory() {
        long total = 0;
        long available = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    total = kib(line);
                } else if (line.startsWith("MemAvailable:")) {
                    available = kib(line);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return new long[] {0, 0};
        }
        return new long[] {total, available};
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
    }

    /** Bytes KSM saves on this host now (0 without KSM). */
    public static long ksmSavedBytes() {
        KsmHost ksm = KsmHost.system();
        return ksm.isAvailable() ? ksm.figures().savedBytes() : 0;
    }

    /** Whether KVM here is hardware virtualization (Intel VT-x or AMD-V modules loaded). */
    public static boolean hardwareVirtualization() {
        return Files.exists(Path.of("/sys/module/kvm_intel")) || Files.exists(Path.of("/sys/module/kvm_amd"));
    }

    /** What the instances that hold resources have claimed. */
    public static Resources allocated(List<InstanceRecord> records) {
        long vcpus = 0;
        long memory = 0;
        long disk = 0;
        for (InstanceRecord r : records) {
            if (r.holdsResources()) {
                vcpus += r.resources().getVcpus();
                memory += r.resources().getMemoryMib();
                disk += r.resources().getDiskGib();
            }
        }
        return Resources.newBuilder().setVcpus((int) vcpus).setMemoryMib(memory).setDiskGib(disk).build();
    }
}
