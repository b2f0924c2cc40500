package io.stratus.agent.migration;

import java.util.Optional;

/**
 * Where the control plane knows each host's {@code MigrationService} to be: the gRPC address in the
 * host's latest report. A source sends a guest only to the address registered for the command's
 * target host, so a command naming any other address (forged, or stale) moves nothing.
 */
@FunctionalInterface
public interface HostDirectory {
    /**
     * @return the address registered for {@code host} as of now (every report written before the
     *         call counts); empty when the host has none
     * @throws RuntimeException the directory cannot be read
     */
    Optional<String> grpcAddress(String host) throws InterruptedException;
}
