package io.stratus.bench;

import io.stratus.kvm.cpu.HostProfile;
import io.stratus.kvm.sys.Kvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Debian's QEMU as the peer: {@code -M microvm} with KVM (its emulator, TCG, where /dev/kvm is
 * missing), virtio-mmio disks, the guest's serial
 * console on stdout. On hosts whose KVM emulates guest kernel code it takes the CPU flags this
 * host needs (guest-kernel.md): no IA32_ARCH_CAPABILITIES, no CX16, no XSAVE.
 */
public final class Qemu {
    public static final Path BINARY = Path.of("/usr/bin/qemu-system-x86_64");

    private Qemu() {
    }

    /** Fails with a clear message when QEMU is missing (bin/stratus bench installs it). */
    public static void require() {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException("QEMU is not installed (" + BINARY + "); install Debian's qemu-system-x86");
        }
    }

    /** Whether QEMU can use KVM here; without it the peer runs on QEMU's own emulator (TCG). */
    public static boolean kvm() {
        return Kvm.unavailableReason(Path.of("/dev/kvm")).isEmpty();
    }

    /** The QEMU command line for {@code guest}. */
    public static List<String> command(GuestSpec guest) {
        List<String> accel = kvm() ? List.of("-enable-kvm", "-cpu", HostProfile.detect().emulatesGuestKernel()
                ? "host,-arch-capabilities,-cx16,-xsave" : "host")
                : List.of("-accel", "tcg,thread=single", "-cpu", "max");
        List<String> c = new ArrayList<>(List.of(BINARY.toString(), "-M", "microvm,acpi=on,rtc=off"));
        c.addAll(accel);
        c.addAll(List.of("-m", guest.memoryMiB() + "M", "-smp", Integer.toString(guest.vcpus()),
                "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot",
                // The tiny guests power off by writing the Stratus ACPI sleep port; here it ends QEMU.
                "-device", "isa-debug-exit,iobase=0x600,iosize=1",
                "-kernel", guest.kernel().toString(),
                "-append", ("console=ttyS0 " + guest.cmdline() + (kvm() ? "" : tcgTsc())).trim()));
        if (guest.initrd() != null) {
            c.addAll(List.of("-initrd", guest.initrd().toString()));
        }
        for (int i = 0; i < guest.disks().size(); i++) {
            GuestSpec.Disk d = guest.disks().get(i);
            // QEMU's own NBD client for a disk over NBD; both with QEMU's default cache=writeback.
            String file = d.nbdSocket().map(s -> "nbd+unix:///" + GuestSpec.Disk.NBD_EXPORT + "?socket=" + s)
                    .orElse(d.path().toString());
            c.addAll(List.of("-drive", "id=d" + i + ",file=" + file + ",format=raw,if=none"
                    + (d.readOnly() ? ",readonly=on" : ""), "-device", "virtio-blk-device,drive=d" + i));
        }
        return c;
    }

    /**
     * Under TCG the guest's TSC runs at the host's rate, and Linux calibrating it against the
     * emulated PIT fails on a busy host, after which the kit's kernel stalls at boot: it is told the
     * rate instead (as the agent's qemu driver does). Empty where the host's TSC is not constant.
     */
    static String tcgTsc() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            if (lines.stream().noneMatch(l -> l.startsWith("flags") && l.contains(" constant_tsc"))) {
                return "";
            }
            return lines.stream().filter(l -> l.startsWith("cpu MHz")).findFirst()
                    .map(l -> " tsc_early_khz=" + Math.round(Double.parseDouble(l.substring(l.indexOf(':') + 1).strip())
                            * 1000)).orElse("");
        } catch (java.io.IOException | RuntimeException e) {
            return "";
        }
    }

    public static ProcessVmm vmm() {
        return new ProcessVmm("qemu-microvm", Qemu::command);
    }
}
