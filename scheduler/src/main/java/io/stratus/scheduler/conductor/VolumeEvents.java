package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.VolumeAttachment;
import io.stratus.scheduler.volume.Attachment;
import io.stratus.scheduler.volume.VolumeAttachments;
import io.stratus.scheduler.volume.VolumeStatus;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The conductor's view of the volume service ({@link ServerVolumes}): an agent's answer goes to
 * the attachment it concerns, whose status says whether it answers an attach or a detach (a
 * repeated answer finds the attachment moved on, or gone, and changes nothing).
 */
public final class VolumeEvents implements ServerVolumes {
    private static final Logger LOG = Logger.getLogger(VolumeEvents.class);

    private final VolumeAttachments attachments;

    public VolumeEvents(VolumeAttachments attachments) {
        this.attachments = attachments;
    }

    @Override
    public List<VolumeAttachment> forBoot(String serverId, String host) {
        return attachments.forBoot(serverId, host);
    }

    @Override
    public void answered(InstanceEvent e) {
        String server = e.getInstanceId();
        String volume = e.getVolumeId();
        attachments.find(server, volume).ifPresentOrElse(a -> {
            boolean failed = e.hasFault();
            switch (a.status()) {
                case Attachment.RESERVED, Attachment.ATTACHING -> {
                    if (failed) {
                        LOG.warnf("volume %s not attached to %s on %s: %s", volume, server, e.getHost(),
                                e.getFault().getMessage());
                        attachments.attachFailed(server, volume);
                    } else {
                        attachments.attached(server, volume);
                    }
                }
                case Attachment.DETACHING -> {
                    if (failed) {
                        LOG.warnf("volume %s not detached from %s on %s: %s", volume, server, e.getHost(),
                                e.getFault().getMessage());
                        attachments.detachFailed(server, volume);
                    } else {
                        attachments.detached(server, volume);
                    }
                }
                default -> LOG.debugf("answer for volume %s on %s: already %s", volume, server, a.status());
            }
        }, () -> LOG.debugf("answer for volume %s on %s: no attachment (detached since)", volume, server));
    }

    @Override
    public void serverDeleted(String serverId) {
        attachments.serverDeleted(serverId);
    }

    @Override
    public Optional<Unready> unready(String serverId) {
        return attachments.unmade(serverId).map(v -> v.status() == VolumeStatus.ERROR
                ? new Unready(true, "Volume " + v.id() + " did not finish being created: its status is error ("
                        + (v.fault() == null ? "no reason given" : v.fault()) + ")", v.id(), v.status().apiName())
                : new Unready(false, "volume " + v.id() + " is " + v.status().apiName(), v.id(),
                        v.status().apiName()));
    }

    @Override
    public void booted(String serverId) {
        attachments.booted(serverId);
    }

    @Override
    public boolean any(String serverId) {
        return !attachments.ofServer(serverId).isEmpty();
    }

    @Override
    public void moved(String serverId, String host) {
        attachments.moved(serverId, host);
    }

    @Override
    public void fence(String serverId) {
        attachments.fence(serverId);
    }
}
