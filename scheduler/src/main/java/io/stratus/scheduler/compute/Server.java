package io.stratus.scheduler.compute;

import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.keypairs.KeyType;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A server as the control plane records it: who owns it, its size and image, where it runs, and
 * the state its agent last reported.
 *
 * @param pendingFlavorId the flavor of a resize awaiting confirm or revert
 * @param requestId the request the current task belongs to; events of other requests do not move it
 * @param triedHosts the hosts a boot was tried on, so that a reschedule goes elsewhere
 * @param eventSequence the sequence of the newest agent event applied (per host; 0 after a move)
 * @param sourceHost the host a cold move came from, until it is confirmed or reverted
 * @param powerState whether the guest runs, as its agent last said; unspecified until it has
 * @param key the keypair it was booted with, as that keypair was then
 * @param lockedBy who locked the server against changes ({@code owner} or {@code admin}), if anyone
 * @param accessIpv4 the address the tenant says the server is reached at (Nova's accessIPv4), or empty
 * @param launch what its guest is launched with: user data, config drive, hostname, reservation
 */
public record Server(String id, String name, String projectId, String userId, String flavorId,
                     Optional<String> pendingFlavorId, int vcpus, long ramMib, long diskGib, String imageId,
                     String availabilityZone, Optional<String> serverGroupId, InstanceState vmState,
                     TaskState taskState, Optional<String> host, String requestId, Instant taskStartedAt,
                     List<String> triedHosts, int attempts, long eventSequence, Optional<Fault> fault,
                     Optional<Instant> launchedAt, Instant createdAt, Instant updatedAt,
                     Optional<String> sourceHost, PowerState powerState, Optional<Key> key,
                     Optional<String> lockedBy, String accessIpv4, String accessIpv6, Launch launch) {
    public Server {
        triedHosts = List.copyOf(triedHosts);
    }

    /**
     * What a server is launched with for its guest (Nova's instance fields of these names), fixed
     * at create; a rebuild changes the kernel and ramdisk with the image.
     *
     * @param userData the user data as the API took it (base64 text), if any
     * @param configDrive whether the guest gets a config drive
     * @param hostname the guest's hostname, made from the server's name at create (a rename keeps it)
     * @param reservationId the create request's reservation ({@code r-xxxxxxxx}), shared by the servers it made
     * @param launchIndex the server's place among them, from 0
     * @param kernelId the kernel image its image boots with, or empty; {@code ramdiskId} likewise
     */
    public record Launch(Optional<String> userData, boolean configDrive, String hostname, String reservationId,
                         int launchIndex, String kernelId, String ramdiskId) {
        /** A server launched with nothing but its hostname (the tests' and older servers' case). */
        public static Launch plain(String hostname, String reservationId) {
            return new Launch(Optional.empty(), false, hostname, reservationId, 0, "", "");
        }
    }

    /** A keypair given to a server at boot (Nova's key_name and key_data). */
    public record Key(String name, KeyType type, String publicKey) {
    }

    /** Why a server is in ERROR, as Nova shows it. */
    public record Fault(String code, String message) {
    }
}
