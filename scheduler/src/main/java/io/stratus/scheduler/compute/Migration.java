package io.stratus.scheduler.compute;

import java.time.Instant;
import java.util.Arrays;
import java.util.Optional;

/**
 * One move of a server between hosts, as Nova's os-migrations shows it.
 *
 * @param id the integer id API 2.1 shows
 * @param uuid the move's request id, which the agents' events carry as their migration id
 * @param fault why it ended in {@link Status#ERROR}
 */
public record Migration(long id, String uuid, String serverId, String projectId, String userId, Type type,
                        String sourceHost, String destHost, String oldFlavorId, String newFlavorId, Status status,
                        Optional<Server.Fault> fault, Instant createdAt, Instant updatedAt) {

    /** Nova's migration types. */
    public enum Type {
        LIVE_MIGRATION("live-migration"), MIGRATION("migration"), RESIZE("resize");

        private final String novaName;

        Type(String novaName) {
            this.novaName = novaName;
        }

        public String novaName() {
            return novaName;
        }

        /** A type an API filter names, or empty when there is none by that name. */
        public static Optional<Type> ofNovaName(String name) {
            return Arrays.stream(values()).filter(t -> t.novaName.equals(name)).findFirst();
        }
    }

    /**
     * Nova's statuses, those Stratus goes through: a live migration runs until completed or error;
     * a cold move or a resize migrates, is finished (the server waits in VERIFY_RESIZE), then
     * confirmed or reverted, or ends in error.
     */
    public enum Status {
        RUNNING, COMPLETED, MIGRATING, FINISHED, CONFIRMED, REVERTED, ERROR;

        public String novaName() {
            return name().toLowerCase();
        }

        /** A status an API filter names, or empty when there is none by that name. */
        public static Optional<Status> ofNovaName(String name) {
            return Arrays.stream(values()).filter(s -> s.novaName().equalsIgnoreCase(name)).findFirst();
        }
    }
}
