package io.stratus.scheduler.compute;

import java.time.Instant;
import java.util.Optional;

/**
 * One action taken on a server, by the API request that started it (Nova's instance action).
 *
 * @param action Nova's name for it: create, delete, stop, start, reboot, resize, lock, ...
 */
public record InstanceAction(String serverId, String requestId, String action, String projectId, String userId,
                             Instant startTime, Optional<String> message) {
}
