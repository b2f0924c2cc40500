package io.stratus.scheduler.metadata;

import io.stratus.scheduler.compute.Server;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The EC2 layout ({@code /<version>/meta-data/...}, {@code /<version>/user-data}) as Nova's
 * {@code get_ec2_metadata} builds it: a tree of maps whose leaves are text, numbers, lists and
 * the user data's bytes. A map with a {@code _name} entry is listed by that name in its parent
 * (EC2 shows {@code public-keys/} as {@code 0=keyname}).
 */
final class Ec2Metadata {
    /** The key of a map's name in its parent's listing. */
    static final String NAME = "_name";
    /** The mapping of a guest with one root disk named as Nova names a virtio disk. */
    private static final Map<String, Object> BLOCK_DEVICES = Map.of("ami", "vda", "root", "/dev/vda");

    private Ec2Metadata() {
    }

    /**
     * The tree of dated version {@code version}: {@code meta-data}, and {@code user-data} when the
     * instance has some.
     *
     * @param address the guest's address as the proxy saw it: EC2's local-ipv4 when it has no fixed IPv4
     */
    static Map<String, Object> tree(InstanceFacts facts, String version, String hostname, byte[] userData,
                                    Optional<String> address) {
        Server s = facts.server();
        Map<String, Object> md = new LinkedHashMap<>();
        md.put("ami-id", Ec2Ids.image(s.imageId()));
        md.put("ami-launch-index", s.launch().launchIndex());
        md.put("ami-manifest-path", "FIXME");
        md.put("instance-id", Ec2Ids.instance(s.id()));
        md.put("hostname", hostname);
        List<String> fixed = facts.fixedIpv4();
        md.put("local-ipv4", fixed.isEmpty() ? address.orElse(null) : fixed.get(0));
        md.put("reservation-id", s.launch().reservationId());
        md.put("security-groups", facts.securityGroups());
        s.key().ifPresent(k -> {
            Map<String, Object> zero = new LinkedHashMap<>();
            zero.put(NAME, "0=" + k.name());
            zero.put("openssh-key", k.publicKey());
            Map<String, Object> keys = new LinkedHashMap<>();
            keys.put("0", zero);
            md.put("public-keys", keys);
        });
        if (MetadataVersions.ec2AtLeast(version, "2007-01-19")) {
            md.put("local-hostname", hostname);
            md.put("public-hostname", hostname);
            // Floating IPs are not in the network model yet: no public address.
            md.put("public-ipv4", "");
        }
        if (MetadataVersions.ec2AtLeast(version, "2007-08-29")) {
            md.put("instance-type", facts.flavorName());
        }
        if (MetadataVersions.ec2AtLeast(version, "2007-12-15")) {
            md.put("block-device-mapping", new LinkedHashMap<>(BLOCK_DEVICES));
            if (!s.launch().kernelId().isEmpty()) {
                md.put("kernel-id", Ec2Ids.kernel(s.launch().kernelId()));
            }
            if (!s.launch().ramdiskId().isEmpty()) {
                md.put("ramdisk-id", Ec2Ids.ramdisk(s.launch().ramdiskId()));
            }
        }
        if (MetadataVersions.ec2AtLeast(version, "2008-02-01")) {
            md.put("placement", new LinkedHashMap<>(Map.of("availability-zone", InstanceMetadata.zone(s))));
        }
        if (MetadataVersions.ec2AtLeast(version, "2008-09-01")) {
            md.put("instance-action", "none");
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("meta-data", md);
        if (userData != null) {
            data.put("user-data", userData);
        }
        return data;
    }
}
