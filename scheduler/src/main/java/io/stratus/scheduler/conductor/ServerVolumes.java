package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.VolumeAttachment;
import java.util.List;
import java.util.Optional;

/**
 * The volume service as the conductor needs it: each boot carries the server's volumes exported
 * for the host that boots it (a move's target too: the attachment moves, the data stays on the
 * export), the agents' answers to AttachVolume and DetachVolume go back to it, a move that ends
 * on another host moves the attachments there, and a server's deletion frees its volumes.
 */
public interface ServerVolumes {
    /** For a control plane without volumes (and tests of other parts): no server has any. */
    ServerVolumes NONE = new ServerVolumes() {
        @Override
        public List<VolumeAttachment> forBoot(String serverId, String host) {
            return List.of();
        }

        @Override
        public void answered(InstanceEvent e) {
        }

        @Override
        public void serverDeleted(String serverId) {
        }

        @Override
        public boolean any(String serverId) {
            return false;
        }

        @Override
        public void moved(String serverId, String host) {
        }

        @Override
        public void fence(String serverId) {
        }
    };

    /**
     * The server's volumes as {@code host} reaches them: an export that serves already is kept (the
     * server's current host may be reading it: a move's source, or a boot tried again), a missing
     * one is made.
     */
    List<VolumeAttachment> forBoot(String serverId, String host);

    /** Whether the server has volumes (attached, or on their way). */
    boolean any(String serverId);

    /**
     * The server runs on {@code host} now (a move arrived, or was reverted): its attachments are
     * that host's. Their exports stay, which every host reaches at the same address.
     */
    void moved(String serverId, String host);

    /**
     * The server's host is down and it is evacuated: its exports stop, so that its old host, if it
     * only seems dead, cannot write its volumes any more; its next boot exports them anew.
     */
    void fence(String serverId);

    /** An agent's answer to an AttachVolume or DetachVolume (the event names the volume). */
    void answered(InstanceEvent e);

    void serverDeleted(String serverId);

    /**
     * Why the server's volumes cannot be booted with yet: one ({@code volumeId}, in Cinder's
     * {@code status}) is still being made (the volume service schedules the server again when it
     * is), or its making failed ({@code failed}).
     */
    record Unready(boolean failed, String reason, String volumeId, String status) {
    }

    default Optional<Unready> unready(String serverId) {
        return Optional.empty();
    }

    /** The server's boot with its volumes succeeded on its host: they are attached now. */
    default void booted(String serverId) {
    }

    /** The server will not boot (its volumes could not be made): they are let go as at its deletion. */
    default void buildFailed(String serverId) {
        serverDeleted(serverId);
    }
}
