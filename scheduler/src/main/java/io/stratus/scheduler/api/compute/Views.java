package io.stratus.scheduler.api.compute;

import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.Server;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;
import java.util.Map;

/** Compute API bodies, in the field names and value spellings of Nova's API at 2.1. */
final class Views {
    private static final java.util.Set<String> PROGRESS_STATUSES = java.util.Set.of("ACTIVE", "BUILD", "REBUILD",
            "RESIZE", "VERIFY_RESIZE", "MIGRATING");

    /** The guest's root disk as Nova's libvirt driver names a virtio disk. */
    static final String ROOT_DEVICE = "/dev/vda";

    private Views() {
    }

    static String time(Instant t) {
        return t.truncatedTo(ChronoUnit.SECONDS).toString();
    }

    static List<Map<String, String>> links(String base, String kind, String id) {
        return List.of(Map.of("rel", "self", "href", base + "/compute/v2.1/" + kind + "/" + id),
                Map.of("rel", "bookmark", "href", base + "/compute/" + kind + "/" + id));
    }

    /** Nova's status: the vm_state, refined by the task for reboots and resizes. */
    static String status(InstanceState vm, TaskState task) {
        if (task == TaskState.REBUILDING || task == TaskState.REBUILD_SPAWNING) {
            // Nova: REBUILD from whichever state the rebuild started in.
            return "REBUILD";
        }
        switch (vm) {
            case BUILD:
                return "BUILD";
            case ACTIVE:
                if (task == TaskState.REBOOTING) {
                    return "REBOOT";
                }
                if (task == TaskState.REBOOTING_HARD) {
                    return "HARD_REBOOT";
                }
                if (task == TaskState.MIGRATING_LIVE) {
                    return "MIGRATING";
                }
                return task == TaskState.RESIZE_PREP || task == TaskState.RESIZE_MIGRATING
                        || task == TaskState.RESIZE_FINISH ? "RESIZE" : "ACTIVE";
            case REBOOT:
                return task == TaskState.REBOOTING_HARD ? "HARD_REBOOT" : "REBOOT";
            case SHUTOFF:
                return "SHUTOFF";
            case PAUSED:
                return "PAUSED";
            case RESIZE:
                return "RESIZE";
            case VERIFY_RESIZE:
                return "VERIFY_RESIZE";
            case MIGRATING:
                return "MIGRATING";
            case DELETED:
                return "DELETED";
            case ERROR:
                return "ERROR";
            case REBUILD:
                return "REBUILD";
            default:
                return "UNKNOWN";
        }
    }

    /** The state names of the OS-EXT-STS:vm_state field. */
    static String vmState(InstanceState vm) {
        switch (vm) {
            case BUILD:
                return "building";
            case SHUTOFF:
                return "stopped";
            case VERIFY_RESIZE:
                return "resized";
            case REBOOT:
            case RESIZE:
            case MIGRATING:
            case REBUILD:
                return "active";
            default:
                return vm.name().toLowerCase();
        }
    }

    /** Nova's task_state names ({@code null} for none); a live migration is "migrating" there. */
    static String taskState(TaskState task) {
        if (task == TaskState.NONE) {
            return null;
        }
        return task == TaskState.MIGRATING_LIVE ? "migrating" : task.name().toLowerCase();
    }

    /**
     * Nova's power state (1 running, 3 paused, 4 shutdown, 6 crashed, 0 no state): the agent's
     * word when it has given one (the enum's numbers are Nova's), else what the vm_state implies.
     */
    static int powerState(Server s) {
        // The store reads a power state it does not know as unspecified: never UNRECOGNIZED here.
        return s.powerState() != PowerState.POWER_STATE_UNSPECIFIED ? s.powerState().getNumber()
                : powerState(s.vmState());
    }

    private static int powerState(InstanceState vm) {
        switch (vm) {
            case ACTIVE:
            case REBOOT:
            case RESIZE:
            case VERIFY_RESIZE:
            case MIGRATING:
                return 1;
            case PAUSED:
                return 3;
            case SHUTOFF:
                return 4;
            default:
                return 0;
        }
    }

    /** Status names a listing may filter by, to the vm_state they mean. */
    static InstanceState stateOfStatus(String status) {
        switch (status.toUpperCase()) {
            case "BUILD":
                return InstanceState.BUILD;
            case "ACTIVE":
                return InstanceState.ACTIVE;
            case "SHUTOFF":
                return InstanceState.SHUTOFF;
            case "PAUSED":
                return InstanceState.PAUSED;
            case "VERIFY_RESIZE":
                return InstanceState.VERIFY_RESIZE;
            case "ERROR":
                return InstanceState.ERROR;
            default:
                return null;
        }
    }

    /**
     * What a server's ports show in its view: Nova's {@code addresses} (each with its extensions'
     * {@code OS-EXT-IPS:type} and {@code OS-EXT-IPS-MAC:mac_addr}) and {@code security_groups}.
     */
    record Networking(Map<String, List<Map<String, Object>>> addresses, List<Map<String, String>> securityGroups) {
        /** The addresses without the extensions' fields, as the views without extensions show them. */
        Map<String, Object> basicAddresses() {
            Map<String, Object> out = new LinkedHashMap<>();
            addresses.forEach((network, list) -> out.put(network, list.stream().map(a -> Map.of("version",
                    a.get("version"), "addr", a.get("addr"))).toList()));
            return out;
        }
    }

    /**
     * A server as Nova's show and detailed list give it at {@code version}: with the extended
     * server attributes ({@code OS-EXT-SRV-ATTR:*}) for admins only, as Nova's default policy
     * has it, and from 2.3 those the EC2 API needed (hostname, user data, reservation...).
     */
    static Map<String, Object> server(String base, Server s, boolean admin, Microversion version, String flavorShown,
                                      Map<String, String> metadata, Networking net, Supplier<Collection<String>> hostNames) {
        Map<String, Object> m = serverCore(base, s, flavorShown, metadata, net, admin, hostNames);
        m.put("OS-EXT-AZ:availability_zone", s.availabilityZone().isEmpty() ? "nova" : s.availabilityZone());
        // Nova's config_drive column is a string: "True", or empty for none.
        m.put("config_drive", s.launch().configDrive() ? "True" : "");
        m.put("key_name", s.key().map(Server.Key::name).orElse(null));
        m.put("OS-SRV-USG:launched_at", s.launchedAt().map(Views::time).orElse(null));
        m.put("OS-SRV-USG:terminated_at", null);
        if (admin) {
            m.put("OS-EXT-SRV-ATTR:host", s.host().orElse(null));
            m.put("OS-EXT-SRV-ATTR:hypervisor_hostname", s.host().orElse(null));
            m.put("OS-EXT-SRV-ATTR:instance_name", "instance-" + s.id());
            if (version.atLeast(2, 3)) {
                Server.Launch l = s.launch();
                m.put("OS-EXT-SRV-ATTR:reservation_id", l.reservationId());
                m.put("OS-EXT-SRV-ATTR:launch_index", l.launchIndex());
                m.put("OS-EXT-SRV-ATTR:hostname", l.hostname());
                m.put("OS-EXT-SRV-ATTR:kernel_id", l.kernelId());
                m.put("OS-EXT-SRV-ATTR:ramdisk_id", l.ramdiskId());
                // Set by Nova's driver when it first spawns the guest; the agents give it one virtio disk.
                m.put("OS-EXT-SRV-ATTR:root_device_name", s.launchedAt().isPresent() ? ROOT_DEVICE : null);
                m.put("OS-EXT-SRV-ATTR:user_data", l.userData().orElse(null));
            }
        }
        m.put("OS-EXT-STS:task_state", taskState(s.taskState()));
        m.put("OS-EXT-STS:vm_state", vmState(s.vmState()));
        m.put("OS-EXT-STS:power_state", powerState(s));
        m.put("os-extended-volumes:volumes_attached", List.of());
        m.put("addresses", net.addresses());
        m.put("security_groups", net.securityGroups());
        return m;
    }

    /**
     * A server without the extensions' fields, as Nova answers an update ({@code PUT
     * /servers/{id}}) and a rebuild at 2.1: the common fields only. Its fault is shown as
     * {@link FaultView} has it for an admin or not.
     */
    static Map<String, Object> serverCore(String base, Server s, String flavorShown, Map<String, String> metadata,
                                          Networking net, boolean admin, Supplier<Collection<String>> hostNames) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", s.id());
        m.put("name", s.name());
        m.put("status", status(s.vmState(), s.taskState()));
        m.put("tenant_id", s.projectId());
        m.put("user_id", s.userId());
        m.put("metadata", metadata);
        m.put("hostId", s.host().map(h -> hostId(s.projectId(), h)).orElse(""));
        // Nova shows a server booted from a volume with the image "" (it has none).
        m.put("image", s.imageId().isEmpty() ? "" : Map.of("id", s.imageId(), "links", List.of(Map.of("rel",
                "bookmark", "href", base + "/compute/images/" + s.imageId()))));
        m.put("flavor", Map.of("id", flavorShown, "links", List.of(Map.of("rel", "bookmark",
                "href", base + "/compute/flavors/" + flavorShown))));
        m.put("created", time(s.createdAt()));
        m.put("updated", time(s.updatedAt()));
        m.put("addresses", net.basicAddresses());
        m.put("accessIPv4", s.accessIpv4());
        m.put("accessIPv6", s.accessIpv6());
        m.put("links", links(base, "servers", s.id()));
        m.put("OS-DCF:diskConfig", "MANUAL");
        // Nova shows progress only while a server is in a state that makes progress.
        if (PROGRESS_STATUSES.contains(m.get("status"))) {
            m.put("progress", 0);
        }
        if (s.vmState() == InstanceState.ERROR && s.fault().isPresent()) {
            m.put("fault", FaultView.of(s.fault().get(), s.updatedAt(), admin, hostNames));
        }
        return m;
    }

    static Map<String, Object> serverSummary(String base, Server s) {
        return Map.of("id", s.id(), "name", s.name(), "links", links(base, "servers", s.id()));
    }

    static Map<String, Object> flavor(String base, Flavor f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", f.id());
        m.put("name", f.name());
        m.put("vcpus", f.vcpus());
        m.put("ram", f.ramMib());
        m.put("disk", f.diskGib());
        m.put("OS-FLV-EXT-DATA:ephemeral", 0);
        m.put("OS-FLV-DISABLED:disabled", false);
        m.put("swap", "");
        m.put("rxtx_factor", 1.0);
        m.put("os-flavor-access:is_public", f.isPublic());
        m.put("links", links(base, "flavors", f.id()));
        return m;
    }

    /** Nova's hostId: the host, hashed with the project, so tenants can tell co-location only. */
    static String hostId(String projectId, String host) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-224")
                    .digest((projectId + host).getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
