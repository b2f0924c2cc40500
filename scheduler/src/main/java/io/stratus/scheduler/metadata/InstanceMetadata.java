package io.stratus.scheduler.metadata;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.UserData;
import io.stratus.scheduler.conductor.Conductor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.random.RandomGenerator;

/**
 * One instance's metadata as the guest reads it, under Nova's paths ({@code nova/api/metadata/base.py}
 * {@code InstanceMetadata.lookup}): {@code /} and {@code /<ec2 version>/...} for the EC2 layout,
 * {@code /openstack/...} for OpenStack's; and the files of its config drive
 * ({@code metadata_for_config_drive}). Listings print as Nova's {@code ec2_md_print}: one entry
 * a line, a trailing {@code /} on a directory.
 */
public final class InstanceMetadata {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TEXT = "text/plain";
    private static final String JSON_TYPE = "application/json";
    private static final String EC2 = "ec2";
    private static final String OPENSTACK = "openstack";

    private final InstanceFacts facts;
    private final Optional<String> address;
    private final String hostname;
    /** Null when the instance has none (Nova's userdata_raw). */
    private final byte[] userData;
    private final RandomGenerator random;

    /**
     * @param address the guest's address as its proxy saw it (none for a config drive)
     * @param dhcpDomain the domain a guest's hostname is given in (Nova's {@code dhcp_domain}), if any
     * @param random where {@code random_seed} comes from
     */
    public InstanceMetadata(InstanceFacts facts, Optional<String> address, Optional<String> dhcpDomain,
                            RandomGenerator random) {
        this.facts = facts;
        this.address = address;
        String h = facts.server().launch().hostname();
        this.hostname = dhcpDomain.filter(d -> !d.isEmpty()).map(d -> h + "." + d).orElse(h);
        this.userData = facts.server().launch().userData().map(UserData::decode).orElse(null);
        this.random = random;
    }

    public Server server() {
        return facts.server();
    }

    /** The instance's availability zone as its guest is told (Nova's default zone when none was asked). */
    static String zone(Server s) {
        return s.availabilityZone().isEmpty() ? Conductor.DEFAULT_ZONE : s.availabilityZone();
    }

    /** What {@code /} answers, for any instance: the EC2 versions. */
    static MetadataAnswer.Content versions() {
        return text(MetadataVersions.ec2Listing());
    }

    /**
     * What {@code path} answers.
     *
     * @throws MetadataException NOT_FOUND for a path, or a version, that does not exist
     */
    public MetadataAnswer lookup(String path) {
        List<String> tokens = normalize(path);
        if (tokens.isEmpty()) {
            return text(MetadataVersions.ec2Listing());
        }
        if (!tokens.get(0).equals(EC2) && !tokens.get(0).equals(OPENSTACK)) {
            tokens.add(0, EC2);
        }
        if (tokens.size() == 1) {
            return text(tokens.get(0).equals(OPENSTACK) ? MetadataVersions.openstackListing()
                    : MetadataVersions.ec2Listing());
        }
        List<String> rest = tokens.subList(1, tokens.size());
        return tokens.get(0).equals(OPENSTACK) ? openstack(rest, path) : ec2(rest, path);
    }

    private MetadataAnswer openstack(List<String> tokens, String path) {
        String version = MetadataVersions.openstack(tokens.get(0)).orElseThrow(() -> notFound(path));
        if (tokens.size() == 1) {
            return text(OpenStackMetadata.listing(version, userData != null));
        }
        switch (String.join("/", tokens.subList(1, tokens.size()))) {
            case OpenStackMetadata.META_DATA:
                return json(OpenStackMetadata.metaData(facts, version, hostname, random));
            case OpenStackMetadata.USER_DATA:
                if (userData == null) {
                    throw notFound(path);
                }
                return new MetadataAnswer.Content(userData, TEXT);
            case OpenStackMetadata.PASSWORD:
                if (!MetadataVersions.openstackAtLeast(version, MetadataVersions.GRIZZLY)) {
                    throw notFound(path);
                }
                return new MetadataAnswer.Password();
            case OpenStackMetadata.VENDOR_DATA:
                if (!MetadataVersions.openstackAtLeast(version, MetadataVersions.HAVANA)) {
                    throw notFound(path);
                }
                return json(OpenStackMetadata.vendorData());
            case OpenStackMetadata.VENDOR_DATA2:
                if (!MetadataVersions.openstackAtLeast(version, MetadataVersions.NEWTON_TWO)) {
                    throw notFound(path);
                }
                return json(OpenStackMetadata.vendorData2());
            case OpenStackMetadata.NETWORK_DATA:
                // Nova serves it at every version, and as text/plain.
                return new MetadataAnswer.Content(bytes(networkData()), TEXT);
            case "version":
                return text(OpenStackMetadata.listing(version, userData != null));
            default:
                throw notFound(path);
        }
    }

    private Map<String, Object> networkData() {
        return NetworkData.of(facts.nics()).orElse(Map.of());
    }

    private MetadataAnswer ec2(List<String> tokens, String path) {
        String version = MetadataVersions.ec2(tokens.get(0)).orElseThrow(() -> notFound(path));
        Object data = Ec2Metadata.tree(facts, version, hostname, userData, address);
        for (String t : tokens.subList(1, tokens.size())) {
            if (!(data instanceof Map<?, ?> m) || !m.containsKey(t)) {
                throw notFound(path);
            }
            data = m.get(t);
        }
        if (data instanceof byte[] b) {
            return new MetadataAnswer.Content(b, TEXT);
        }
        return new MetadataAnswer.Content(print(data).getBytes(StandardCharsets.UTF_8), TEXT);
    }

    /**
     * Nova's {@code ec2_md_print}: a map lists its keys in order (a map value by its {@code _name}
     * or with a trailing slash), a list its items, anything else its text ({@code None} for none).
     */
    static String print(Object data) {
        if (data instanceof Map<?, ?> m) {
            List<String> lines = new ArrayList<>();
            for (Object k : new TreeSet<>(m.keySet())) {
                if (k.equals(Ec2Metadata.NAME)) {
                    continue;
                }
                Object v = m.get(k);
                if (v instanceof Map<?, ?> child) {
                    lines.add(child.containsKey(Ec2Metadata.NAME) ? String.valueOf(child.get(Ec2Metadata.NAME))
                            : k + "/");
                } else {
                    lines.add(String.valueOf(k));
                }
            }
            return String.join("\n", lines);
        }
        if (data instanceof List<?> l) {
            return String.join("\n", l.stream().map(String::valueOf).toList());
        }
        return data == null ? "None" : String.valueOf(data);
    }

    /**
     * The files of the instance's config drive, in Nova's order: the EC2 layout of the versions a
     * drive carries, then every OpenStack version's documents (no password: the guest posts that).
     */
    public List<ConfigDriveFile> configDriveFiles() {
        List<ConfigDriveFile> out = new ArrayList<>();
        for (String asked : MetadataVersions.EC2_ON_CONFIG_DRIVE) {
            String version = MetadataVersions.ec2(asked).orElseThrow();
            Map<String, Object> data = Ec2Metadata.tree(facts, version, hostname, userData, address);
            if (userData != null) {
                out.add(new ConfigDriveFile(EC2 + "/" + asked + "/user-data", userData));
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> md = (Map<String, Object>) data.get("meta-data");
            if (md.get("public-keys") instanceof Map<?, ?> keys && keys.get("0") instanceof Map<?, ?> zero) {
                zero.remove(Ec2Metadata.NAME);
            }
            out.add(new ConfigDriveFile(EC2 + "/" + asked + "/meta-data.json", bytes(md)));
        }
        List<String> versions = MetadataVersions.openstackListing();
        for (String asked : versions) {
            String version = MetadataVersions.openstack(asked).orElseThrow();
            String dir = OPENSTACK + "/" + asked + "/";
            out.add(new ConfigDriveFile(dir + OpenStackMetadata.META_DATA,
                    bytes(OpenStackMetadata.metaData(facts, version, hostname, random))));
            if (userData != null) {
                out.add(new ConfigDriveFile(dir + OpenStackMetadata.USER_DATA, userData));
            }
            if (MetadataVersions.openstackAtLeast(version, MetadataVersions.HAVANA)) {
                out.add(new ConfigDriveFile(dir + OpenStackMetadata.VENDOR_DATA, bytes(OpenStackMetadata.vendorData())));
            }
            if (MetadataVersions.openstackAtLeast(version, MetadataVersions.LIBERTY)) {
                out.add(new ConfigDriveFile(dir + OpenStackMetadata.NETWORK_DATA, bytes(networkData())));
            }
            if (MetadataVersions.openstackAtLeast(version, MetadataVersions.NEWTON_TWO)) {
                out.add(new ConfigDriveFile(dir + OpenStackMetadata.VENDOR_DATA2,
                        bytes(OpenStackMetadata.vendorData2())));
            }
        }
        return out;
    }

    /**
     * The path's parts as Python's {@code posixpath.normpath} leaves them: no empty parts, no
     * {@code .}, and {@code ..} taking the part before it (never above the root).
     */
    static List<String> normalize(String path) {
        Deque<String> parts = new ArrayDeque<>();
        for (String p : path.split("/")) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                parts.pollLast();
            } else {
                parts.addLast(p);
            }
        }
        return new ArrayList<>(parts);
    }

    private static MetadataAnswer.Content text(List<String> lines) {
        return new MetadataAnswer.Content(String.join("\n", lines).getBytes(StandardCharsets.UTF_8), TEXT);
    }

    private static MetadataAnswer json(Object document) {
        return new MetadataAnswer.Content(bytes(document), JSON_TYPE);
    }

    private static byte[] bytes(Object document) {
        try {
            return JSON.writeValueAsBytes(document);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a metadata document does not serialise", e);
        }
    }

    private static MetadataException notFound(String path) {
        return MetadataException.notFound("no metadata at " + path);
    }
}
