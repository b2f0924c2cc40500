package io.stratus.agent.virt;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.stratus.kvm.memory.KsmHost;
import io.stratus.kvm.nbd.NbdClient;
import io.stratus.kvm.virtio.block.DiskFormat;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.kvm.virtio.block.DiskImageException;
import io.stratus.kvm.virtio.block.Qcow2Image;
import org.junit.jupiter.api.Test;

/**
 * The agent reaches guests only through {@link HypervisorDriver}: kvm-runtime's types stay inside
 * the KVM driver. Two neighbours are allowed what they need of it: the live migration stream
 * ({@code migration}: the KVM driver's own protocol with its pre-copy engine, and the cold moves'
 * disk copy), and, anywhere, the qcow2 layers every driver boots from and the host's KSM figures
 * (plain files and sysfs, no /dev/kvm); the whole-disk boot inspection ({@code boot}) reads qcow2
 * images through kvm-runtime's disk images (plain files too).
 */
class DriverSeamTest {
    private static final JavaClasses AGENT = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("io.stratus.agent");

    @Test
    void onlyTheKvmDriverAndTheMigrationStreamUseKvmRuntime() {
        noClasses().that().resideOutsideOfPackages("io.stratus.agent.virt.kvm..", "io.stratus.agent.migration..",
                        "io.stratus.agent.boot..")
                .should().dependOnClassesThat(resideInAPackage("io.stratus.kvm..")
                        .and(not(belongToAnyOf(Qcow2Image.class, KsmHost.class))))
                .because("platform types stay inside the platform's driver (Nova's virt/driver.py)")
                .check(AGENT);
    }

    @Test
    void theBootInspectionUsesOnlyKvmRuntimesDiskImages() {
        noClasses().that().resideInAPackage("io.stratus.agent.boot..")
                .should().dependOnClassesThat(resideInAPackage("io.stratus.kvm..")
                        .and(not(belongToAnyOf(DiskImage.class, DiskFormat.class, DiskImageException.class,
                                NbdClient.class))))
                .because("whole-disk images are read as plain files, through the disk image formats only, and root"
                        + " volumes through the NBD client")
                .check(AGENT);
    }
}
