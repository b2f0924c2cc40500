package io.stratus.scheduler.selection;

import io.stratus.proto.v1.HostTrait;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A host's hypervisor driver as its agent reports it: Nova's {@code hypervisor_type} ("KVM" for
 * guests on /dev/kvm, "QEMU" for guests QEMU emulates; empty when no driver works), the driver's
 * version as reported, and what the driver can do as Placement traits. Which driver runs them
 * (the in-JVM VMM or a QEMU process per guest, which says "KVM" too where it uses /dev/kvm) is a
 * trait: {@link #DRIVER_KVM} or {@link #DRIVER_QEMU}.
 */
public record Hypervisor(String type, String version, Set<String> traits) {
    public static final String DRIVER_KVM = HostTrait.CUSTOM_STRATUS_DRIVER_KVM.name();
    public static final String DRIVER_QEMU = HostTrait.CUSTOM_STRATUS_DRIVER_QEMU.name();
    /** The driver's guests are emulated (QEMU's TCG), not run on /dev/kvm. */
    public static final String ACCEL_TCG = HostTrait.CUSTOM_STRATUS_ACCEL_TCG.name();
    /** The driver can send and receive a live migration (to and from hosts of the same driver). */
    public static final String LIVE_MIGRATION = HostTrait.CUSTOM_STRATUS_LIVE_MIGRATION.name();
    /** The driver can send and receive a cold move's disk copy. */
    public static final String COLD_MIGRATION = HostTrait.CUSTOM_STRATUS_COLD_MIGRATION.name();
    /** The driver can live-migrate a guest with volumes (the target opens the same NBD exports). */
    public static final String LIVE_MIGRATION_VOLUMES = HostTrait.CUSTOM_STRATUS_LIVE_MIGRATION_VOLUMES.name();

    /**
     * What agents from before drivers were reported run: the in-JVM KVM driver, which moves guests
     * both ways. A report without a type and without traits is one of theirs (rolling upgrades).
     */
    public static final Hypervisor LEGACY_KVM = new Hypervisor("KVM", "", Set.of(DRIVER_KVM, LIVE_MIGRATION,
            COLD_MIGRATION));
    /** A host the scheduler has no report of: no known driver, no traits. */
    public static final Hypervisor UNKNOWN = new Hypervisor("", "", Set.of());

    /** "7.2.0", "7.2", "v8.2.2-rc1": up to three dotted numbers at the start (after any non-digits). */
    private static final Pattern DOTTED = Pattern.compile("^\\D*(\\d{1,9})(?:\\.(\\d{1,9}))?(?:\\.(\\d{1,9}))?");
    /** The hypervisor_type that names any Stratus host (images could ask for it before hosts told their driver). */
    private static final String ANY_STRATUS_HOST = "stratus";

    public Hypervisor {
        traits = Set.copyOf(traits);
    }

    public boolean has(String trait) {
        return traits.contains(trait);
    }

    /**
     * The type for messages: "QEMU", "KVM", "KVM, QEMU driver" (QEMU on /dev/kvm), or "no working
     * driver" when the host has none.
     */
    public String describe() {
        if (type.isEmpty()) {
            return "no working driver";
        }
        return has(DRIVER_QEMU) && !type.equalsIgnoreCase("QEMU") ? type + ", QEMU driver" : type;
    }

    /**
     * Whether an image's {@code hypervisor_type} (or {@code img_hv_type}) names this host's
     * driver, as Nova's hv_type names, case-insensitive: "kvm" a host whose type is KVM; "qemu"
     * a host whose type is QEMU, or whose driver is QEMU on KVM (a Nova libvirt host on KVM
     * offers the qemu domain type too; the in-JVM VMM cannot emulate). "stratus" (what images
     * could ask for before hosts told their driver) names any host with a working driver.
     */
    public boolean runs(String hvType) {
        String wanted = hvType.trim().toLowerCase(Locale.ROOT);
        if (type.isEmpty()) {
            return false;
        }
        return wanted.equals(type.toLowerCase(Locale.ROOT)) || wanted.equals(ANY_STRATUS_HOST)
                || (wanted.equals("qemu") && has(DRIVER_QEMU));
    }

    /** {@link #version} as Nova's integer ({@link #versionNumber(String)}); empty when unknown. */
    public OptionalLong versionNumber() {
        return versionNumber(version);
    }

    /**
     * A dotted version as Nova's hypervisor_version integer: major * 1,000,000 + minor * 1,000 +
     * micro, so "7.2.0" is 7002000 and "7.2" 7002000. Empty when there is no version at the start,
     * or a minor or micro part of 1,000 or more that the integer cannot hold apart.
     */
    public static OptionalLong versionNumber(String dotted) {
        Matcher m = DOTTED.matcher(dotted == null ? "" : dotted.trim());
        if (!m.find()) {
            return OptionalLong.empty();
        }
        long major = Long.parseLong(m.group(1));
        long minor = m.group(2) == null ? 0 : Long.parseLong(m.group(2));
        long micro = m.group(3) == null ? 0 : Long.parseLong(m.group(3));
        if (minor >= 1000 || micro >= 1000) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(major * 1_000_000 + minor * 1_000 + micro);
    }
}
