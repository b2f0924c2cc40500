package io.stratus.scheduler.conductor;

import com.google.protobuf.ByteString;
import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.BootSource;
import io.stratus.proto.v1.NetworkInterface;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.WatchdogAction;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.UserData;
import io.stratus.scheduler.compute.WatchdogPolicy;
import io.stratus.scheduler.exception.InvalidRequest;
import io.stratus.scheduler.image.Image;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.network.Port;
import io.stratus.scheduler.placement.ResourceRequest;
import java.util.Map;
import org.jboss.logging.Logger;

/** What a host boots a server as, for a boot and for a move's target. */
public final class BootRecipe {
    /** Glance's disk_format of a kernel image (Amazon kernel image). */
    private static final String KERNEL_FORMAT = "aki";
    private static final Logger LOG = Logger.getLogger(BootRecipe.class);
    /**
     * What a server booted from a volume boots as in place of an image (its {@code image_id} is
     * empty, as Nova's is): nothing, so that its boot source is empty and the agent boots the
     * root volume.
     */
    static final Image VOLUME_BACKED = new Image("", "", "", "private", "active", "", "", 0, "", 0, 0, "", "", "",
            Map.of());

    private final FlavorStore flavors;
    private final ServerMetadataStore metadata;
    private final NetworkService network;
    private final ServerVolumes volumes;

    public BootRecipe(FlavorStore flavors, ServerMetadataStore metadata, NetworkService network,
                      ServerVolumes volumes) {
        this.flavors = flavors;
        this.metadata = metadata;
        this.network = network;
        this.volumes = volumes;
    }

    /** The server's flavor; one deleted since is rebuilt from the size the server keeps. */
    Flavor flavorOf(Server s) {
        return flavors.byId(s.flavorId()).orElse(new Flavor(s.flavorId(), s.flavorId(), s.vcpus(), s.ramMib(),
                s.diskGib(), false));
    }

    /**
     * The disk a server of {@code flavor} takes on its host: none for one booted from a volume
     * (Nova's {@code root_gb} 0 for a volume-backed instance: its root is the volume), else the flavor's.
     */
    static long localDiskGib(Server s, Flavor flavor) {
        return s.imageId().isEmpty() ? 0 : flavor.diskGib();
    }

    /** What a host claims for {@code s} at {@code flavor}'s size (a move's target, a resize's new size). */
    static ResourceRequest claim(Server s, Flavor flavor) {
        return ResourceRequest.of(flavor.vcpus(), flavor.ramMib(), localDiskGib(s, flavor));
    }

    Boot boot(Server s, Image image, String host) {
        return boot(s, image, flavorOf(s), host);
    }

    /**
     * What a host boots the server as: its size and image, its NICs, and for cloud-init its user
     * data (decoded; the API took only valid base64), its metadata and whether it gets a config
     * drive (which the agent makes from the metadata API); its volumes, exported for {@code host}.
     */
    Boot boot(Server s, Image image, Flavor flavor, String host) {
        // A server booted from a volume has no local root disk: its flavor's disk is not taken (Nova's root_gb 0).
        long disk = localDiskGib(s, flavor);
        Boot.Builder b = Boot.newBuilder().setName(s.name()).setFlavor(flavor.name()).setResources(resources(
                flavor.vcpus(), flavor.ramMib(), disk)).setSource(source(image))
                .putAllMetadata(metadata.of(s.id())).setConfigDrive(s.launch().configDrive())
                .setWatchdogAction(watchdog(s, image));
        s.launch().userData().ifPresent(u -> b.setUserData(ByteString.copyFrom(UserData.decode(u))));
        for (Port p : network.portsOf(s.id())) {
            b.addNetworks(NetworkInterface.newBuilder().setPortId(p.id()).setNetworkId(p.networkId())
                    .setMac(p.macAddress()).setTap(p.tap()).setMtu(network.mtu(p.networkId())));
        }
        b.addAllVolumes(volumes.forBoot(s.id(), host));
        return b.build();
    }

    /**
     * The server's watchdog, from its image (flavors have no extra specs yet). The API refused a
     * bad value when the server was made; one set on the image since must not stop a move.
     */
    private static WatchdogAction watchdog(Server s, Image image) {
        try {
            return WatchdogPolicy.of(Map.of(), image.properties());
        } catch (InvalidRequest e) {
            LOG.warnf("instance %s: %s; it gets no watchdog", s.id(), e.getMessage());
            return WatchdogAction.WATCHDOG_ACTION_UNSPECIFIED;
        }
    }

    /**
     * What an agent boots of {@code image}, by its kind: a kernel ({@code disk_format} aki) boots
     * with no disk; a disk that names its kernel and ramdisk ({@code kernel_id}, Glance's AMI)
     * boots them with that disk; any other disk is a whole-disk image, whose kernel, initrd and
     * command line the agent finds on it (its partitions and GRUB's default entry).
     */
    static BootSource source(Image image) {
        BootSource.Builder source = BootSource.newBuilder();
        if (!image.kernelId().isEmpty()) {
            source.setKernelImageId(image.kernelId()).setRamdiskImageId(image.ramdiskId())
                    .setKernelCmdline(image.osCommandLine()).setImageId(image.id()).setImageSha256(image.sha256());
        } else if (image.diskFormat().equals(KERNEL_FORMAT)) {
            source.setKernelImageId(image.id()).setRamdiskImageId(image.ramdiskId())
                    .setKernelCmdline(image.osCommandLine());
        } else {
            // Nova reads os_command_line only with a kernel_id: a whole disk's command line is its boot loader's.
            source.setImageId(image.id()).setImageSha256(image.sha256());
        }
        return source.build();
    }

    static Resources resources(long vcpus, long ramMib, long diskGib) {
        return Resources.newBuilder().setVcpus((int) vcpus).setMemoryMib(ramMib).setDiskGib(diskGib).build();
    }
}
