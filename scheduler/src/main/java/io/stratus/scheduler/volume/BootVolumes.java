package io.stratus.scheduler.volume;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The volumes a server is created with (Nova's block device mapping v2 on server create), as
 * Nova's {@code _validate_bdm} checks them and its compute manager prepares them: an existing
 * volume is reserved for the server; a volume from an image or a snapshot is made first, and the
 * server is placed only once it is (its boot waits in BUILD/SCHEDULING until then, see
 * {@link VolumeAttachments#unmade}).
 */
public final class BootVolumes {
    private static final long GIB = 1L << 30;

    private final VolumeStore volumes;
    private final SnapshotStore snapshots;
    private final VolumeTypeStore types;
    private final Images images;
    private final VolumeService service;
    private final VolumeAttachments attachments;

    public BootVolumes(VolumeStore volumes, SnapshotStore snapshots, VolumeTypeStore types, Images images,
                       VolumeService service, VolumeAttachments attachments) {
        this.volumes = volumes;
        this.snapshots = snapshots;
        this.types = types;
        this.images = images;
        this.service = service;
        this.attachments = attachments;
    }

    /**
     * Checks the mappings against what exists, before any server is made, with Nova's messages.
     *
     * @param count how many servers the request makes (an existing volume goes to one only)
     * @throws VolumeException INVALID (Nova's 400) for a source that is missing, not usable or too small
     */
    public void check(VolumeService.Asker asker, List<BlockDeviceMapping> mappings, long count) {
        for (BlockDeviceMapping m : mappings) {
            m.volumeType().ifPresent(t -> types.find(t).orElseThrow(() -> VolumeException.invalid("Volume type " + t
                    + " could not be found.")));
            switch (m.source()) {
                case VOLUME -> checkVolume(asker, m, count);
                case SNAPSHOT -> {
                    Snapshot s = snapshots.find(m.uuid()).filter(x -> asker.admin()
                            || x.projectId().equals(asker.projectId())).orElseThrow(() -> VolumeException.invalid(
                                    "Block Device Mapping is Invalid: failed to get snapshot " + m.uuid() + "."));
                    if (!Snapshot.AVAILABLE.equals(s.status())) {
                        throw VolumeException.invalid("Invalid snapshot: snapshot " + s.id() + " must be available,"
                                + " but it is " + s.status() + ".");
                    }
                    if (m.volumeSizeGb().orElse(s.sizeGb()) < s.sizeGb()) {
                        throw VolumeException.invalid("Invalid input received: volume size " + m.volumeSizeGb().get()
                                + "GB cannot be smaller than the snapshot's " + s.sizeGb() + "GB.");
                    }
                }
                case IMAGE -> {
                    Images.Facts image = images.find(m.uuid()).filter(i -> asker.admin()
                            || i.visibleTo(asker.projectId())).filter(i -> "active".equals(i.status()))
                            .orElseThrow(() -> VolumeException.invalid("Block Device Mapping is Invalid: failed to"
                                    + " get image " + m.uuid() + "."));
                    int size = m.volumeSizeGb().orElseThrow(() -> VolumeException.invalid("Images with"
                            + " destination_type 'volume' need to have a non-zero size specified"));
                    long needed = Math.max(image.minDisk() * GIB, image.size());
                    if (size * GIB < needed) {
                        throw VolumeException.invalid("Volume is smaller than the minimum size specified in image"
                                + " metadata. Volume size is " + size * GIB + " bytes, minimum size is " + needed
                                + " bytes.");
                    }
                }
                default -> throw new IllegalStateException("unknown source " + m.source());
            }
        }
    }

    private void checkVolume(VolumeService.Asker asker, BlockDeviceMapping m, long count) {
        if (count > 1) {
            throw VolumeException.invalid("Cannot attach one or more volumes to multiple instances");
        }
        Volume v = volumes.find(m.uuid()).filter(x -> asker.admin() || x.projectId().equals(asker.projectId()))
                .orElseThrow(() -> VolumeException.invalid("Block Device Mapping is Invalid: failed to get volume "
                        + m.uuid() + "."));
        boolean free = v.status() == VolumeStatus.AVAILABLE || (v.status() == VolumeStatus.IN_USE && v.multiattach());
        if (!free) {
            throw VolumeException.invalidVolume("volume '" + v.id() + "' status must be 'available'. Currently in '"
                    + v.status().apiName() + "'");
        }
        if (m.root() && !v.bootable()) {
            throw VolumeException.invalid("Block Device " + v.id() + " is not bootable.");
        }
    }

    /**
     * Gives server {@code serverId} its volumes: existing ones are reserved for it, the others are
     * made (of {@code asker}'s project and quota) and reserved as they are being made;
     * {@code made} is told each time one of those is made or failed once all are recorded (the
     * caller places the server after this returns, and a volume made before then is seen there).
     * The root is {@code /dev/vda}, the others follow in order from {@code /dev/vdb}.
     *
     * @throws VolumeException when a volume cannot be reserved or made (what was done stays, for
     *                         the server's deletion to let go)
     */
    public void provide(VolumeService.Asker asker, String serverId, List<BlockDeviceMapping> mappings,
                        Runnable made) {
        AtomicBoolean recorded = new AtomicBoolean();
        List<BlockDeviceMapping> ordered = new ArrayList<>(mappings.stream().filter(BlockDeviceMapping::root).toList());
        ordered.addAll(mappings.stream().filter(m -> !m.root()).toList());
        char next = 'b';
        for (BlockDeviceMapping m : ordered) {
            String device = m.root() ? "/dev/vda" : "/dev/vd" + next++;
            if (m.source() == BlockDeviceMapping.Source.VOLUME) {
                attachments.reserve(volumes.get(m.uuid()), serverId, device, m.root(), m.deleteOnTermination());
                continue;
            }
            Consumer<String> settled = id -> {
                attachments.made(id);
                if (recorded.get()) {
                    made.run();
                }
            };
            Volume v = service.create(asker, new VolumeService.Create(m.volumeSizeGb(), "", "", m.volumeType(),
                    Optional.empty(), Optional.empty(),
                    m.source() == BlockDeviceMapping.Source.SNAPSHOT ? Optional.of(m.uuid()) : Optional.empty(),
                    m.source() == BlockDeviceMapping.Source.IMAGE ? Optional.of(m.uuid()) : Optional.empty(),
                    Map.of(), false), settled);
            attachments.reserveMade(v, serverId, device, m.root(), m.deleteOnTermination());
        }
        recorded.set(true);
    }
}
