package io.stratus.scheduler.volume;

import io.stratus.proto.v1.VolumeAttachment;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * A volume's life on servers, as Nova's compute API and Cinder's attachments drive it between
 * them: reserve ({@code attaching}), export for the server's host, then {@code in-use} when the
 * host says it attached it, or back to {@code available} (attachment and export gone) when it
 * could not; detach ({@code detaching}), then {@code available} when the host let go. The bus
 * commands are the conductor's; this class keeps the records and the exports consistent.
 */
public final class VolumeAttachments {
    private static final Logger LOG = Logger.getLogger(VolumeAttachments.class);

    private final VolumeStore volumes;
    private final AttachmentStore attachments;
    private final NbdExports exports;
    private final VolumeService service;

    public VolumeAttachments(VolumeStore volumes, AttachmentStore attachments, NbdExports exports,
                             VolumeService service) {
        this.volumes = volumes;
        this.attachments = attachments;
        this.exports = exports;
        this.service = service;
    }

    /**
     * Reserves {@code v} for a server: an available volume, or one in use whose type allows
     * several servers; the volume is {@code attaching} after.
     *
     * @throws VolumeException InvalidVolume when its status or multi-attach does not allow it
     */
    public Attachment reserve(Volume v, String serverId, String device, boolean boot, boolean deleteOnTermination) {
        if (v.status() == VolumeStatus.IN_USE && !v.multiattach()) {
            throw VolumeException.invalidVolume("volume " + v.id() + " is in use and its type does not allow"
                    + " multiattach.");
        }
        if (attachments.find(v.id(), serverId).isPresent()) {
            throw VolumeException.invalidVolume("volume " + v.id() + " is already attached to server " + serverId
                    + ".");
        }
        volumes.transition(v.id(), EnumSet.of(VolumeStatus.AVAILABLE, VolumeStatus.IN_USE), VolumeStatus.ATTACHING);
        try {
            return attachments.reserve(v.id(), serverId, device, v.isReadOnly(), boot, deleteOnTermination);
        } catch (RuntimeException e) {
            settle(v.id());
            throw e;
        }
    }

    /**
     * Records {@code v}, a volume being made for a server to boot with, as reserved for it; the
     * volume stays {@code creating} until it is made, then is {@code attaching} ({@link #made}).
     */
    public Attachment reserveMade(Volume v, String serverId, String device, boolean boot,
                                  boolean deleteOnTermination) {
        Attachment a = attachments.reserve(v.id(), serverId, device, false, boot, deleteOnTermination);
        // The worker may have made it already: then it is attaching now, as a reserved volume is.
        settle(v.id());
        return a;
    }

    /** A volume made for a server is ready or failed: a ready one is {@code attaching}, as reserved. */
    public void made(String volumeId) {
        settle(volumeId);
    }

    /**
     * The first of the server's volumes that is not ready for its boot: one still being made
     * ({@code creating}, {@code downloading}) or whose making failed ({@code error}).
     */
    public Optional<Volume> unmade(String serverId) {
        for (Attachment a : attachments.ofServer(serverId)) {
            Optional<Volume> v = volumes.find(a.volumeId());
            if (v.isPresent() && EnumSet.of(VolumeStatus.CREATING, VolumeStatus.DOWNLOADING, VolumeStatus.ERROR)
                    .contains(v.get().status())) {
                return v;
            }
        }
        return Optional.empty();
    }

    /** The server booted with its volumes on its host: each is attached, the volumes {@code in-use}. */
    public void booted(String serverId) {
        for (Attachment a : attachments.ofServer(serverId)) {
            if (Attachment.RESERVED.equals(a.status()) || Attachment.ATTACHING.equals(a.status())) {
                attached(serverId, a.volumeId());
            }
        }
    }

    /**
     * Cinder's attachment_create without a connector: reserves {@code v} for {@code instance} (the
     * attachment {@code reserved}, the volume {@code reserved}; a multiattach volume in use stays
     * in use). Nothing is exported until a connector says for which host.
     *
     * @throws VolumeException InvalidVolume when its status or multi-attach does not allow it
     */
    public Attachment reserveForApi(Volume v, String instance) {
        if (v.status() == VolumeStatus.IN_USE && !v.multiattach()) {
            throw VolumeException.invalidVolume("Volume " + v.id() + " status must be available to reserve, but the"
                    + " current status is in-use.");
        }
        if (attachments.find(v.id(), instance).isPresent()) {
            throw VolumeException.invalidVolume("volume " + v.id() + " is already attached to server " + instance
                    + ".");
        }
        if (v.status() != VolumeStatus.IN_USE) {
            volumes.transition(v.id(), EnumSet.of(VolumeStatus.AVAILABLE), VolumeStatus.RESERVED);
        }
        try {
            return attachments.reserve(v.id(), instance, null, v.isReadOnly(), false, false);
        } catch (RuntimeException e) {
            settle(v.id());
            throw e;
        }
    }

    /**
     * Cinder's attachment_update: the connector's host is where the volume goes, so its export is
     * made (or kept, when it serves already) and the attachment is {@code attaching} (the volume
     * too, unless another attachment has it in use) until {@link #complete}.
     *
     * @param host       the connector's host
     * @param mountpoint the connector's mountpoint, or null
     */
    public Attachment connect(Attachment a, String host, String mountpoint) {
        Volume v = volumes.get(a.volumeId());
        if (v.status().apiName().startsWith("error")) {
            throw VolumeException.invalidVolume("Volume attachments can not be updated if the volume is in an error"
                    + " state. The Volume " + v.id() + " currently has a status of: " + v.status().apiName());
        }
        if (mountpoint != null) {
            attachments.setDevice(a.id(), mountpoint);
        }
        Attachment exported = served(a, host);
        attachments.exported(a.id(), host, exported.nbdPort());
        attachments.transition(a.id(), Attachment.RESERVED, Attachment.ATTACHING);
        settle(a.volumeId());
        return attachments.get(a.id());
    }

    /** Cinder's os-complete: the attachment is {@code attached}, the volume {@code in-use}. */
    public Attachment complete(Attachment a) {
        attachments.transition(a.id(), Attachment.RESERVED, Attachment.ATTACHED);
        attachments.transition(a.id(), Attachment.ATTACHING, Attachment.ATTACHED);
        settle(a.volumeId());
        return attachments.get(a.id());
    }

    /**
     * Cinder's attachment_delete: the export and the attachment go, the volume is free again (or
     * in use by its other attachments), which are returned.
     */
    public List<Attachment> delete(Attachment a) {
        exports.stop(a.id());
        attachments.delete(a.id());
        settle(a.volumeId());
        return attachments.ofVolume(a.volumeId());
    }

    /** How a host reaches the attachment's export (Cinder's connection_info), if it has one. */
    public Optional<ConnectionInfo> connection(Attachment a) {
        if (a.nbdPort() <= 0) {
            return Optional.empty();
        }
        return Optional.of(new ConnectionInfo(exports.uri(a), exports.address(), a.nbdPort(), a.volumeId(),
                a.mode()));
    }

    /**
     * Where an attachment's data is served: an NBD export (Cinder's connection_info names the
     * protocol as {@code driver_volume_type} "nbd").
     */
    public record ConnectionInfo(String uri, String host, int port, String exportName, String accessMode) {
    }

    /** Exports the attachment's volume for {@code host} and says how that host reaches it. */
    public VolumeAttachment export(Attachment a, String host) {
        return described(exports.export(a, host));
    }

    /** The attachment as served: its export kept when it serves already, else a new one for {@code host}. */
    private Attachment served(Attachment a, String host) {
        return a.nbdPort() > 0 && exports.serving(a.id()) ? a : exports.export(a, host);
    }

    private VolumeAttachment described(Attachment exported) {
        Volume v = volumes.get(exported.volumeId());
        return VolumeAttachment.newBuilder().setVolumeId(v.id()).setAttachmentId(exported.id())
                .setNbdUri(exports.uri(exported)).setSizeBytes(v.sizeBytes()).setReadOnly("ro".equals(exported.mode()))
                .setDevice(exported.device() == null ? "" : exported.device()).setBoot(exported.boot()).build();
    }

    /**
     * The server's volumes as a boot on {@code host} needs them (a boot, a move's target), the boot
     * volume first. An export that serves already is kept as it is: every host reaches it at the
     * same address, and the server's current host may be reading it (a live migration's source
     * runs on until the switch-over, a cold move's until it stops, and either may stay on a
     * rollback), so the move's target opens the same export (qemu-nbd takes several clients). An
     * attachment without a live export gets a new one.
     */
    public List<VolumeAttachment> forBoot(String serverId, String host) {
        List<VolumeAttachment> out = new ArrayList<>();
        for (Attachment a : attachments.ofServer(serverId)) {
            if (!Attachment.DETACHING.equals(a.status())) {
                out.add(described(served(a, host)));
            }
        }
        return out;
    }

    /**
     * Stops the server's exports (its host is down and it is evacuated): a host that only seems
     * dead loses its connections, and {@link #forBoot} exports them anew, on new ports, for the
     * next host. The records stay.
     */
    public void fence(String serverId) {
        for (Attachment a : attachments.ofServer(serverId)) {
            exports.stop(a.id());
        }
    }

    /**
     * The volume half of Nova's {@code snapshot_volume_backed} (createImage of a server booted from
     * a volume): a snapshot of each of the server's volumes, forced as Nova's
     * {@code create_snapshot_force} (they are in use; what the guest has not flushed is not in it,
     * as with Nova when the guest cannot be quiesced), named {@code snapshot for <image name>}, the
     * root's first; and each one's entry of the image's {@code block_device_mapping} as Nova writes
     * it ({@code snapshot_from_bdm(...).get_image_mapping()}: every field of a mapping, the
     * attachment's boot index, device, delete_on_termination and the volume's size kept).
     *
     * @throws VolumeException a snapshot refused (its volume's status, the project's quota); the
     *                         snapshots made before it stay, as in Nova
     */
    public List<Map<String, Object>> snapshotForImage(VolumeService.Asker asker, String serverId, String imageName) {
        List<Attachment> all = new ArrayList<>(attachments.ofServer(serverId).stream().filter(Attachment::boot)
                .toList());
        all.addAll(attachments.ofServer(serverId).stream().filter(a -> !a.boot()).toList());
        List<Map<String, Object>> mapping = new ArrayList<>();
        for (Attachment a : all) {
            Volume v = volumes.get(a.volumeId());
            Snapshot snap = service.snapshot(asker, v, "snapshot for " + imageName, v.description(), Map.of(), true);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("source_type", "snapshot");
            m.put("destination_type", "volume");
            m.put("snapshot_id", snap.id());
            m.put("disk_bus", "virtio");
            m.put("device_type", "disk");
            m.put("boot_index", a.boot() ? 0 : null);
            m.put("delete_on_termination", a.deleteOnTermination());
            m.put("volume_size", v.sizeGb());
            m.put("device_name", a.device());
            for (String unset : List.of("guest_format", "volume_id", "image_id", "no_device", "tag", "volume_type",
                    "encrypted", "encryption_secret_uuid", "encryption_format", "encryption_options")) {
                m.put(unset, null);
            }
            mapping.add(m);
        }
        return mapping;
    }

    /** The server runs on {@code host} now: its attachments with an export are that host's. */
    public void moved(String serverId, String host) {
        attachments.moved(serverId, host);
    }

    /** The host attached it: the attachment is {@code attached}, the volume {@code in-use}. */
    public void attached(String serverId, String volumeId) {
        attachments.find(volumeId, serverId).ifPresent(a -> {
            attachments.transition(a.id(), Attachment.RESERVED, Attachment.ATTACHED);
            attachments.transition(a.id(), Attachment.ATTACHING, Attachment.ATTACHED);
            settle(volumeId);
        });
    }

    /** The host could not attach it: the export and the attachment go, the volume is free again. */
    public void attachFailed(String serverId, String volumeId) {
        attachments.find(volumeId, serverId).ifPresent(a -> {
            exports.stop(a.id());
            attachments.delete(a.id());
            settle(volumeId);
        });
    }

    /**
     * Starts taking {@code volumeId} off the server: the attachment and the volume are
     * {@code detaching}.
     *
     * @throws VolumeException 404 when it is not attached there, InvalidVolume while it is not attached yet
     */
    public Attachment beginDetach(String serverId, String volumeId) {
        Attachment a = attachments.find(volumeId, serverId).orElseThrow(() -> VolumeException.notFound(
                "Volume attachment of volume", volumeId));
        if (!attachments.transition(a.id(), Attachment.ATTACHED, Attachment.DETACHING)) {
            throw VolumeException.invalidVolume("volume " + volumeId + " is " + a.status() + " on server " + serverId
                    + ", not attached.");
        }
        volumes.tryTransition(volumeId, EnumSet.of(VolumeStatus.IN_USE), VolumeStatus.DETACHING);
        return attachments.get(a.id());
    }

    /** The host let go: the export and the attachment go, the volume is free (or in use by the others). */
    public void detached(String serverId, String volumeId) {
        attachments.find(volumeId, serverId).ifPresent(a -> {
            exports.stop(a.id());
            attachments.delete(a.id());
            settle(volumeId);
        });
    }

    /** A failed detach: the volume stays attached. */
    public void detachFailed(String serverId, String volumeId) {
        attachments.find(volumeId, serverId).ifPresent(a -> {
            attachments.transition(a.id(), Attachment.DETACHING, Attachment.ATTACHED);
            settle(volumeId);
        });
    }

    /** What an answer from the host concerns: the attachment's status says which command it answers. */
    public Optional<Attachment> find(String serverId, String volumeId) {
        return attachments.find(volumeId, serverId);
    }

    public List<Attachment> ofServer(String serverId) {
        return attachments.ofServer(serverId);
    }

    /**
     * The server is gone: its exports and attachments go, its volumes are free again, and those
     * it was to take with it (delete_on_termination) are deleted.
     */
    public void serverDeleted(String serverId) {
        for (Attachment a : attachments.ofServer(serverId)) {
            exports.stop(a.id());
            attachments.delete(a.id());
            settle(a.volumeId());
            if (a.deleteOnTermination()) {
                volumes.find(a.volumeId()).ifPresent(v -> {
                    try {
                        service.delete(v);
                    } catch (VolumeException e) {
                        LOG.warnf("volume %s of deleted server %s not deleted: %s", v.id(), serverId, e.getMessage());
                    }
                });
            }
        }
    }

    /**
     * Puts the volume in the status its attachments say: {@code in-use} while one is attached,
     * {@code attaching}/{@code detaching} while one is on its way, {@code available} with none.
     */
    private void settle(String volumeId) {
        List<Attachment> left = attachments.ofVolume(volumeId);
        VolumeStatus next;
        if (left.stream().anyMatch(a -> Attachment.ATTACHED.equals(a.status()))) {
            next = VolumeStatus.IN_USE;
        } else if (left.stream().anyMatch(a -> Attachment.DETACHING.equals(a.status()))) {
            next = VolumeStatus.DETACHING;
        } else if (left.stream().anyMatch(a -> Attachment.ATTACHING.equals(a.status()))) {
            next = VolumeStatus.ATTACHING;
        } else if (!left.isEmpty()) {
            // Only reservations: Cinder's API reserved it (the compute API's own attach has it attaching).
            next = volumes.find(volumeId).map(Volume::status).orElse(VolumeStatus.ATTACHING) == VolumeStatus.RESERVED
                    ? VolumeStatus.RESERVED : VolumeStatus.ATTACHING;
        } else {
            next = VolumeStatus.AVAILABLE;
        }
        volumes.tryTransition(volumeId, EnumSet.of(VolumeStatus.ATTACHING, VolumeStatus.IN_USE,
                VolumeStatus.DETACHING, VolumeStatus.RESERVED, VolumeStatus.AVAILABLE), next);
    }
}
