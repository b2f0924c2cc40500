package io.stratus.agent.virt;

import io.stratus.proto.v1.HostTrait;
import java.util.Optional;
import java.util.Set;

/**
 * What a driver offers on this host, reported to the control plane.
 *
 * @param hypervisorType  Nova's hypervisor_type: {@code KVM} or {@code QEMU}; empty when no driver works
 * @param traits          Placement traits (the scheduler filters on them), see {@link Traits}
 * @param maxVcpus        the most vCPUs one guest may have
 * @param minMemoryMiB    the least memory a guest may have
 * @param guestsOutliveAgent whether guests keep running when the agent stops (QEMU processes do)
 * @param unusable        why no guest can run here, for a host without a working driver
 */
public record DriverCapabilities(String name, String hypervisorType, String version, Set<String> traits,
                                 int maxVcpus, long minMemoryMiB, boolean guestsOutliveAgent,
                                 Optional<String> unusable) {
    public DriverCapabilities {
        traits = Set.copyOf(traits);
    }

    public boolean has(String trait) {
        return traits.contains(trait);
    }

    /** Trait names, from the contract ({@link HostTrait}): what host reports carry. */
    public static final class Traits {
        public static final String DRIVER_KVM = HostTrait.CUSTOM_STRATUS_DRIVER_KVM.name();
        public static final String DRIVER_QEMU = HostTrait.CUSTOM_STRATUS_DRIVER_QEMU.name();
        /** Sends and receives a running guest, in its driver's own stream: only to and from hosts of the same driver. */
        public static final String LIVE_MIGRATION = HostTrait.CUSTOM_STRATUS_LIVE_MIGRATION.name();
        /** Sends and receives a stopped guest's disk (cold migration, resize to another host). */
        public static final String COLD_MIGRATION = HostTrait.CUSTOM_STRATUS_COLD_MIGRATION.name();
        /** Guests run by software emulation (QEMU's TCG): slow, but anywhere. */
        public static final String SOFTWARE_EMULATION = HostTrait.CUSTOM_STRATUS_ACCEL_TCG.name();
        /** Attaches and detaches volumes (NBD exports) on running guests, through empty disk slots. */
        public static final String VOLUME_ATTACH = HostTrait.CUSTOM_STRATUS_VOLUME_ATTACH.name();
        /**
         * Live-migrates a guest with volumes: the target opens the same NBD exports in the same
         * slots and the stream leaves their data alone. Both drivers have it (QEMU's -incoming
         * guest built with the source's slots; the in-JVM VMM's slot state naming each export).
         */
        public static final String LIVE_MIGRATION_VOLUMES = HostTrait.CUSTOM_STRATUS_LIVE_MIGRATION_VOLUMES.name();

        private Traits() {
        }
    }
}
