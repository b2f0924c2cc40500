package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.AttachVolume;
import io.stratus.proto.v1.DetachVolume;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.exception.InstanceInvalidState;
import io.stratus.scheduler.exception.ServiceUnavailable;
import io.stratus.scheduler.volume.Attachment;
import io.stratus.scheduler.volume.Volume;
import io.stratus.scheduler.volume.VolumeAttachments;
import java.util.EnumSet;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Nova's volume attach and detach on a server that has a host (running, paused or stopped): the
 * attachment is recorded, the volume exported for the host and the host told; its answer
 * ({@link VolumeEvents}) finishes it.
 */
public final class VolumeActions {
    private static final Logger LOG = Logger.getLogger(VolumeActions.class);
    private static final Set<InstanceState> ATTACHABLE = EnumSet.of(InstanceState.ACTIVE, InstanceState.SHUTOFF,
            InstanceState.PAUSED);

    private final VolumeAttachments attachments;
    private final HostCommands commands;

    public VolumeActions(VolumeAttachments attachments, HostCommands commands) {
        this.attachments = attachments;
        this.commands = commands;
    }

    /**
     * Attaches {@code v} to {@code s}; returns the attachment (its device as the API shows it).
     *
     * @throws InstanceInvalidState when the server is not running, paused or stopped, or is busy
     */
    public Attachment attach(Server s, Volume v, String device) {
        String host = checked(s, "attach_volume");
        Attachment a = attachments.reserve(v, s.id(), device, false, false);
        try {
            commands.send(host, commands.envelope(s.id(), s.projectId(), Conductor.newRequestId())
                    .setAttachVolume(AttachVolume.newBuilder().setVolume(attachments.export(a, host))).build());
        } catch (RuntimeException e) {
            LOG.warnf("volume %s: attach to %s not sent to %s: %s", v.id(), s.id(), host, e.getMessage());
            attachments.attachFailed(s.id(), v.id());
            throw e instanceof DispatchException ? new ServiceUnavailable("the attach could not be handed to host "
                    + host + "; try again: " + e.getMessage()) : e;
        }
        return a;
    }

    /** Starts detaching {@code volumeId} from {@code s}; the host's answer finishes it. */
    public void detach(Server s, String volumeId) {
        String host = checked(s, "detach_volume");
        Attachment a = attachments.beginDetach(s.id(), volumeId);
        try {
            commands.send(host, commands.envelope(s.id(), s.projectId(), Conductor.newRequestId())
                    .setDetachVolume(DetachVolume.newBuilder().setVolumeId(volumeId).setAttachmentId(a.id())).build());
        } catch (DispatchException e) {
            attachments.detachFailed(s.id(), volumeId);
            throw new ServiceUnavailable("the detach could not be handed to host " + host + "; try again: "
                    + e.getMessage());
        }
    }

    private static String checked(Server s, String action) {
        boolean idle = s.taskState() == TaskState.NONE || s.taskState() == TaskState.TASK_STATE_UNSPECIFIED;
        if (!ATTACHABLE.contains(s.vmState()) || !idle || s.host().isEmpty()) {
            throw new InstanceInvalidState("Cannot '" + action + "' instance " + s.id() + " while it is in vm_state "
                    + s.vmState().name().toLowerCase() + (idle ? "" : ", task_state "
                    + s.taskState().name().toLowerCase()));
        }
        return s.host().get();
    }
}
