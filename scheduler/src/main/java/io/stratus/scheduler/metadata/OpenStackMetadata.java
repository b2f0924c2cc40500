package io.stratus.scheduler.metadata;

import io.stratus.scheduler.compute.Server;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * The OpenStack layout's documents ({@code /openstack/<version>/...}) as Nova's
 * {@code InstanceMetadata} writes them: {@code meta_data.json}, the version's listing, and the
 * vendor data (none configured: Nova's StaticJSON provider without a file gives {@code {}}).
 */
final class OpenStackMetadata {
    static final String META_DATA = "meta_data.json";
    static final String USER_DATA = "user_data";
    static final String PASSWORD = "password";
    static final String VENDOR_DATA = "vendor_data.json";
    static final String NETWORK_DATA = "network_data.json";
    static final String VENDOR_DATA2 = "vendor_data2.json";
    /** Bytes of entropy a guest gets in {@code random_seed}, as Nova gives. */
    private static final int SEED_BYTES = 512;

    private OpenStackMetadata() {
    }

    /** {@code meta_data.json} of dated version {@code version}. */
    static Map<String, Object> metaData(InstanceFacts facts, String version, String hostname, RandomGenerator random) {
        Server s = facts.server();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("uuid", s.id());
        if (!facts.metadata().isEmpty()) {
            m.put("meta", new LinkedHashMap<>(new java.util.TreeMap<>(facts.metadata())));
        }
        s.key().ifPresent(k -> {
            m.put("public_keys", Map.of(k.name(), k.publicKey()));
            Map<String, Object> key = new LinkedHashMap<>();
            key.put("name", k.name());
            key.put("type", k.type().apiName());
            key.put("data", k.publicKey());
            m.put("keys", List.of(key));
        });
        m.put("hostname", hostname);
        m.put("name", s.name());
        m.put("launch_index", s.launch().launchIndex());
        m.put("availability_zone", InstanceMetadata.zone(s));
        if (MetadataVersions.openstackAtLeast(version, MetadataVersions.GRIZZLY)) {
            byte[] seed = new byte[SEED_BYTES];
            random.nextBytes(seed);
            m.put("random_seed", Base64.getEncoder().encodeToString(seed));
        }
        if (MetadataVersions.openstackAtLeast(version, MetadataVersions.LIBERTY)) {
            m.put("project_id", s.projectId());
        }
        if (MetadataVersions.openstackAtLeast(version, MetadataVersions.NEWTON_ONE)) {
            // Tagged devices only, and the API takes no device tags yet.
            m.put("devices", List.of());
        }
        if (MetadataVersions.openstackAtLeast(version, MetadataVersions.VICTORIA)) {
            // No flavor pins vCPUs to host CPUs.
            m.put("dedicated_cpus", List.of());
        }
        return m;
    }

    /** What {@code /openstack/<version>} lists. */
    static List<String> listing(String version, boolean hasUserData) {
        List<String> out = new ArrayList<>(List.of(META_DATA));
        if (hasUserData) {
            out.add(USER_DATA);
        }
        if (MetadataVersions.openstackAtLeast(version, MetadataVersions.GRIZZLY)) {
            out.add(PASSWORD);
        }
        if (MetadataVersions.openstackAtLeast(version, MetadataVersions.HAVANA)) {
            out.add(VENDOR_DATA);
        }
        if (MetadataVersions.openstackAtLeast(version, MetadataVersions.LIBERTY)) {
            out.add(NETWORK_DATA);
        }
        if (MetadataVersions.openstackAtLeast(version, MetadataVersions.NEWTON_TWO)) {
            out.add(VENDOR_DATA2);
        }
        return out;
    }

    /** {@code vendor_data.json}: the static vendor data, of which there is none. */
    static Map<String, Object> vendorData() {
        return Map.of();
    }

    /** {@code vendor_data2.json}: each provider's data under its name; the static one's is empty. */
    static Map<String, Object> vendorData2() {
        return Map.of("static", Map.of());
    }
}
