package io.stratus.scheduler.volume;

import java.time.Instant;

/**
 * A volume on a server: Cinder's attachment and Nova's block device mapping in one.
 *
 * @param host    the server's host when the export was made for it, or null before
 * @param mode    {@code rw} or {@code ro}
 * @param status  {@code reserved}, {@code attaching}, {@code attached} or {@code detaching}
 * @param nbdPort the port its NBD export serves on, or 0 while there is none
 */
public record Attachment(String id, String volumeId, String serverId, String host, String device, String mode,
                         String status, boolean boot, boolean deleteOnTermination, int nbdPort, Instant attachedAt,
                         Instant createdAt) {
    public static final String RESERVED = "reserved";
    public static final String ATTACHING = "attaching";
    public static final String ATTACHED = "attached";
    public static final String DETACHING = "detaching";
}
