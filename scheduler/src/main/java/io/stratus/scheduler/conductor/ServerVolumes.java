package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.VolumeAttachment;
import java.util.List;
import java.util.Optional;

/**
 * The volume service as the conductor needs it: each boot carries the server's volumes exported
 * for the host that boots it, the agents' answers to AttachVolume and DetachVolume go back to it,
 * and a server's deletion frees its volumes.
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
    };

    /** The server's volumes, exported for {@code host}. */
    List<VolumeAttachment> forBoot(String serverId, String host);

    /** An agent's answer to an AttachVolume or DetachVolume (the event names the volume). */
    void answered(InstanceEvent e);

    void serverDeleted(String serverId);

    /**
     * Why the server's volumes cannot be booted with yet: one is still being made (the volume
     * service schedules the server again when it is), or its making failed ({@code failed}).
     */
    record Unready(boolean failed, String reason) {
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
