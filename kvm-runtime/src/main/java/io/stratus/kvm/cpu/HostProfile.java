package io.stratus.kvm.cpu;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Facts about the host's KVM that change how the VMM sets a guest up.
 *
 * @param emulatesGuestKernel KVM runs guest kernel code under its instruction emulator
 *        ({@code kvm_pvm}, a KVM without hardware virtualization): some instructions cannot run
 *        at CPL0, and KVM hypercalls do not complete
 */
public record HostProfile(boolean emulatesGuestKernel) {

    /** Reads the profile of this host from sysfs. */
    public static HostProfile detect() {
        return new HostProfile(Files.exists(Path.of("/sys/module/kvm_pvm")));
    }
}
