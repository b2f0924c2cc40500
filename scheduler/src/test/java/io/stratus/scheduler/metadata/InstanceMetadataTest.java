package io.stratus.scheduler.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.keypairs.KeyType;
import io.stratus.scheduler.network.Cidr;
import io.stratus.scheduler.network.IpAddress;
import io.stratus.scheduler.network.Revision;
import io.stratus.scheduler.network.Subnet;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The metadata layouts against Nova 26's: the key sets below are what
 * {@code nova/api/metadata/base.py} ({@code get_ec2_metadata}, {@code _metadata_as_json},
 * {@code _handle_version}, {@code metadata_for_config_drive}) and {@code nova/virt/netutils.py}
 * ({@code get_network_metadata}) produce for an instance like this one, read from those files.
 */
class InstanceMetadataTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ID = "0d4c7a2e-5b1f-4c7e-9d3a-2f6e8b1c4a90";
    private static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIwFPWnUBqUCg8mEh+d2NF6HNPxw0mSdKED9DWfzcP9c me";
    private static final String USER_DATA = "#cloud-config\nhostname: x\n";

    private static Server server(boolean withKeyAndData) {
        Instant now = Instant.parse("2026-12-01T10:00:00Z");
        return new Server(ID, "Web Node", "p1", "u1", "m1", Optional.empty(), 1, 512, 1,
                "9a8b7c6d-0000-4000-8000-000000000000", "", Optional.empty(), InstanceState.ACTIVE, TaskState.NONE,
                Optional.of("h1"), "req-0", now, List.of("h1"), 1, 3, Optional.empty(), Optional.of(now), now, now,
                Optional.empty(), PowerState.POWER_RUNNING,
                withKeyAndData ? Optional.of(new Server.Key("mykey", KeyType.SSH, KEY)) : Optional.empty(),
                Optional.empty(), "", "",
                new Server.Launch(withKeyAndData ? Optional.of(Base64.getEncoder().encodeToString(
                        USER_DATA.getBytes(StandardCharsets.UTF_8))) : Optional.empty(), true, "web-node", "r-abc12345",
                        0, withKeyAndData ? "1f2e3d4c-0000-4000-8000-000000000000" : "", ""));
    }

    private static Subnet subnet(String id, String cidr, String gateway, boolean dhcp, Optional<String> v6Mode,
                                 List<String> dns, List<Subnet.HostRoute> routes) {
        return new Subnet(id, "net-1", "p1", "", "", Cidr.parse(cidr).orElseThrow(), IpAddress.parse(gateway), dhcp,
                dns, routes, List.of(), v6Mode, v6Mode, Optional.empty(), Revision.first(Instant.EPOCH));
    }

    /** One NIC: DHCP on IPv4 (with a DHCP port), SLAAC on IPv6. */
    private static NetworkData.Nic dhcpNic() {
        Subnet v4 = subnet("sub-4", "10.0.0.0/24", "10.0.0.1", true, Optional.empty(), List.of("192.0.2.53"),
                List.of());
        Subnet v6 = subnet("sub-6", "2001:db8::/64", "2001:db8::1", true, Optional.of("slaac"),
                List.of("2001:db8::53"), List.of());
        return new NetworkData.Nic("port-1", "fa:16:3e:00:00:01", "tapport-1", "tap", "net-1", 1450, List.of(
                new NetworkData.NicSubnet(v4, List.of("10.0.0.5"), Optional.of("10.0.0.2")),
                new NetworkData.NicSubnet(v6, List.of("2001:db8::5"), Optional.empty())));
    }

    /** A second NIC on a subnet without DHCP: a static address with its routes. */
    private static NetworkData.Nic staticNic() {
        Subnet v4 = subnet("sub-s", "192.168.7.0/26", "192.168.7.1", false, Optional.empty(),
                List.of("192.0.2.53", "192.0.2.54"), List.of(new Subnet.HostRoute("172.16.0.0/12", "192.168.7.9")));
        return new NetworkData.Nic("port-2", "fa:16:3e:00:00:02", "tapport-2", "unbound", "net-2", 1500, List.of(
                new NetworkData.NicSubnet(v4, List.of("192.168.7.10"), Optional.empty())));
    }

    private static InstanceMetadata metadata(boolean withKeyAndData, List<NetworkData.Nic> nics) {
        return metadata(withKeyAndData, nics, Optional.of("10.0.0.5"));
    }

    /** @param address the guest's address as its proxy gave it; none for a config drive */
    private static InstanceMetadata metadata(boolean withKeyAndData, List<NetworkData.Nic> nics,
                                             Optional<String> address) {
        InstanceFacts facts = new InstanceFacts(server(withKeyAndData), withKeyAndData ? Map.of("role", "web")
                : Map.of(), "m1.small", List.of("default", "web"), nics, Optional.empty());
        return new InstanceMetadata(facts, address, Optional.of("novalocal"), new Random(7));
    }

    private static String text(MetadataAnswer a) {
        return new String(((MetadataAnswer.Content) a).body(), StandardCharsets.UTF_8);
    }

    private static JsonNode json(MetadataAnswer a) throws Exception {
        return JSON.readTree(((MetadataAnswer.Content) a).body());
    }

    private static List<String> keys(JsonNode n) {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            out.add(it.next());
        }
        return out;
    }

    @Test
    void metaDataJsonHasNovasKeysPerVersion() throws Exception {
        InstanceMetadata md = metadata(true, List.of(dhcpNic()));
        JsonNode latest = json(md.lookup("/openstack/latest/meta_data.json"));
        // _metadata_as_json: uuid, meta (when set), public_keys and keys (with a key), hostname, name,
        // launch_index, availability_zone, then random_seed (GRIZZLY), project_id (LIBERTY),
        // devices (NEWTON_ONE), dedicated_cpus (VICTORIA).
        assertThat(keys(latest)).containsExactly("uuid", "meta", "public_keys", "keys", "hostname", "name",
                "launch_index", "availability_zone", "random_seed", "project_id", "devices", "dedicated_cpus");
        assertThat(latest.path("uuid").asText()).isEqualTo(ID);
        assertThat(latest.path("meta").path("role").asText()).isEqualTo("web");
        assertThat(latest.path("public_keys").path("mykey").asText()).isEqualTo(KEY);
        assertThat(keys(latest.path("keys").path(0))).containsExactlyInAnyOrder("name", "type", "data");
        assertThat(latest.path("keys").path(0).path("type").asText()).isEqualTo("ssh");
        assertThat(latest.path("hostname").asText()).isEqualTo("web-node.novalocal");
        assertThat(latest.path("name").asText()).isEqualTo("Web Node");
        assertThat(latest.path("availability_zone").asText()).isEqualTo("nova");
        assertThat(Base64.getDecoder().decode(latest.path("random_seed").asText())).hasSize(512);
        assertThat(latest.path("project_id").asText()).isEqualTo("p1");

        JsonNode folsom = json(metadata(false, List.of()).lookup("/openstack/2012-08-10/meta_data.json"));
        assertThat(keys(folsom)).containsExactly("uuid", "hostname", "name", "launch_index", "availability_zone");
        JsonNode liberty = json(md.lookup("/openstack/2015-10-15/meta_data.json/"));
        assertThat(keys(liberty)).endsWith("random_seed", "project_id").doesNotContain("devices");
        assertThat(((MetadataAnswer.Content) md.lookup("openstack/latest/meta_data.json")).contentType())
                .isEqualTo("application/json");
    }

    @Test
    void networkDataJsonDescribesLinksNetworksAndServicesAsNova() throws Exception {
        JsonNode nd = json(metadata(true, List.of(dhcpNic(), staticNic())).lookup("/openstack/latest/network_data.json"));
        assertThat(keys(nd)).containsExactly("links", "networks", "services");
        JsonNode link = nd.path("links").path(0);
        assertThat(keys(link)).containsExactly("id", "vif_id", "type", "mtu", "ethernet_mac_address");
        assertThat(link.path("id").asText()).isEqualTo("tapport-1");
        assertThat(link.path("type").asText()).isEqualTo("tap");
        assertThat(link.path("mtu").isNull()).as("DHCP tells the MTU").isTrue();
        assertThat(nd.path("links").path(1).path("type").asText()).as("not an exposed VIF type").isEqualTo("phy");
        assertThat(nd.path("links").path(1).path("mtu").asInt()).isEqualTo(1500);

        JsonNode dhcp = nd.path("networks").path(0);
        assertThat(keys(dhcp)).containsExactly("id", "type", "link", "network_id");
        assertThat(dhcp.path("type").asText()).isEqualTo("ipv4_dhcp");
        JsonNode slaac = nd.path("networks").path(1);
        assertThat(keys(slaac)).containsExactly("id", "type", "link", "ip_address", "netmask", "routes", "network_id",
                "services");
        assertThat(slaac.path("type").asText()).isEqualTo("ipv6_slaac");
        assertThat(slaac.path("netmask").asText()).isEqualTo("ffff:ffff:ffff:ffff::");
        assertThat(slaac.path("routes").path(0).path("network").asText()).isEqualTo("::");
        JsonNode fixed = nd.path("networks").path(2);
        assertThat(fixed.path("id").asText()).isEqualTo("network2");
        assertThat(fixed.path("type").asText()).isEqualTo("ipv4");
        assertThat(fixed.path("link").asText()).isEqualTo("tapport-2");
        assertThat(fixed.path("ip_address").asText()).isEqualTo("192.168.7.10");
        assertThat(fixed.path("netmask").asText()).isEqualTo("255.255.255.192");
        assertThat(fixed.path("routes").toString()).isEqualTo("[{\"network\":\"0.0.0.0\",\"netmask\":\"0.0.0.0\","
                + "\"gateway\":\"192.168.7.1\"},{\"network\":\"172.16.0.0\",\"netmask\":\"255.240.0.0\","
                + "\"gateway\":\"192.168.7.9\"}]");
        assertThat(fixed.path("services").findValuesAsText("address")).containsExactly("192.0.2.53", "192.0.2.54");
        // Every subnet's DNS servers, each once.
        assertThat(nd.path("services").findValuesAsText("address")).containsExactly("192.0.2.53", "2001:db8::53",
                "192.0.2.54");
        assertThat(text(metadata(true, List.of()).lookup("/openstack/latest/network_data.json"))).isEqualTo("{}");
    }

    @Test
    void ec2MetaDataListsNovasKeysPerVersion() {
        InstanceMetadata md = metadata(true, List.of(dhcpNic()));
        // get_ec2_metadata at 2009-04-04, printed sorted; directories with a slash, public-keys by name.
        assertThat(text(md.lookup("/latest/meta-data/")).split("\n")).containsExactly("ami-id", "ami-launch-index",
                "ami-manifest-path", "block-device-mapping/", "hostname", "instance-action", "instance-id",
                "instance-type", "kernel-id", "local-hostname", "local-ipv4", "placement/", "public-hostname",
                "public-ipv4", "public-keys/", "reservation-id", "security-groups");
        assertThat(text(md.lookup("/1.0/meta-data")).split("\n")).containsExactly("ami-id", "ami-launch-index",
                "ami-manifest-path", "hostname", "instance-id", "local-ipv4", "public-keys/", "reservation-id",
                "security-groups");
        assertThat(text(md.lookup("/latest/meta-data/public-keys/"))).isEqualTo("0=mykey");
        assertThat(text(md.lookup("/latest/meta-data/public-keys/0"))).isEqualTo("openssh-key");
        assertThat(text(md.lookup("/latest/meta-data/public-keys/0/openssh-key"))).isEqualTo(KEY);
        assertThat(text(md.lookup("/latest/meta-data/block-device-mapping"))).isEqualTo("ami\nroot");
        assertThat(text(md.lookup("/latest/meta-data/block-device-mapping/root"))).isEqualTo("/dev/vda");
        assertThat(text(md.lookup("/latest/meta-data/placement/availability-zone"))).isEqualTo("nova");
        assertThat(text(md.lookup("/latest/meta-data/instance-id"))).isEqualTo("i-0d4c7a2e");
        assertThat(text(md.lookup("/latest/meta-data/ami-id"))).isEqualTo("ami-9a8b7c6d");
        assertThat(text(md.lookup("/latest/meta-data/kernel-id"))).isEqualTo("aki-1f2e3d4c");
        assertThat(text(md.lookup("/latest/meta-data/ami-launch-index"))).isEqualTo("0");
        assertThat(text(md.lookup("/latest/meta-data/reservation-id"))).isEqualTo("r-abc12345");
        assertThat(text(md.lookup("/latest/meta-data/local-ipv4"))).isEqualTo("10.0.0.5");
        assertThat(text(md.lookup("/latest/meta-data/hostname"))).isEqualTo("web-node.novalocal");
        assertThat(text(md.lookup("/latest/meta-data/instance-type"))).isEqualTo("m1.small");
        assertThat(text(md.lookup("/latest/meta-data/security-groups"))).isEqualTo("default\nweb");
        assertThat(text(md.lookup("/2009-04-04/user-data"))).isEqualTo(USER_DATA);
        assertThat(text(md.lookup("/latest"))).isEqualTo("meta-data/\nuser-data");
        // Without a fixed IPv4 the proxy's word for the guest's address stands in (Nova's self.address).
        assertThat(text(metadata(false, List.of()).lookup("/latest/meta-data/local-ipv4"))).isEqualTo("10.0.0.5");
        assertThat(text(metadata(false, List.of()).lookup("/latest/meta-data/")))
                .doesNotContain("public-keys", "kernel-id", "ramdisk-id");
    }

    @Test
    void listingsAreNovasOneEntryALine() {
        InstanceMetadata md = metadata(true, List.of());
        assertThat(text(md.lookup("/"))).isEqualTo("1.0\n2007-01-19\n2007-03-01\n2007-08-29\n2007-10-10\n2007-12-15"
                + "\n2008-02-01\n2008-09-01\n2009-04-04\nlatest");
        assertThat(text(md.lookup("/openstack"))).isEqualTo("2012-08-10\n2013-04-04\n2013-10-17\n2015-10-15"
                + "\n2016-06-30\n2016-10-06\n2017-02-22\n2018-08-27\n2020-10-14\nlatest");
        assertThat(text(md.lookup("/openstack/latest/"))).isEqualTo("meta_data.json\nuser_data\npassword"
                + "\nvendor_data.json\nnetwork_data.json\nvendor_data2.json");
        assertThat(text(md.lookup("/openstack/2012-08-10"))).isEqualTo("meta_data.json\nuser_data");
        assertThat(text(metadata(false, List.of()).lookup("/openstack/2013-10-17"))).isEqualTo("meta_data.json"
                + "\npassword\nvendor_data.json");
        assertThat(text(md.lookup("/openstack/latest/vendor_data.json"))).isEqualTo("{}");
        assertThat(text(md.lookup("/openstack/latest/vendor_data2.json"))).isEqualTo("{\"static\":{}}");
        assertThat(text(md.lookup("/openstack/latest/user_data"))).isEqualTo(USER_DATA);
        assertThat(md.lookup("/openstack/2013-04-04/password")).isInstanceOf(MetadataAnswer.Password.class);
        assertThat(text(md.lookup("/ec2/latest/meta-data/hostname"))).isEqualTo("web-node.novalocal");
    }

    @Test
    void whatDoesNotExistIsNotFound() {
        InstanceMetadata withData = metadata(true, List.of());
        InstanceMetadata without = metadata(false, List.of());
        for (String path : List.of("/openstack/2011-01-01/meta_data.json", "/openstack/latest/nothing",
                "/openstack/2012-08-10/password", "/openstack/2013-04-04/vendor_data.json",
                "/openstack/latest/meta_data.json/uuid", "/openstack/content", "/2010-01-01/meta-data",
                "/latest/meta-data/nothing", "/latest/meta-data/hostname/more",
                "/latest/meta-data/security-groups/default")) {
            MetadataException e = catchThrowableOfType(() -> withData.lookup(path), MetadataException.class);
            assertThat(e).as(path).isNotNull();
            assertThat(e.kind()).isEqualTo(MetadataException.Kind.NOT_FOUND);
        }
        for (String path : List.of("/openstack/latest/user_data", "/latest/user-data",
                "/latest/meta-data/public-keys")) {
            assertThat(catchThrowableOfType(() -> without.lookup(path), MetadataException.class)).as(path).isNotNull();
        }
    }

    @Test
    void theConfigDriveHoldsNovasFiles() throws Exception {
        List<ConfigDriveFile> files = metadata(true, List.of(dhcpNic()), Optional.empty()).configDriveFiles();
        List<String> expected = new ArrayList<>(List.of("ec2/2009-04-04/user-data", "ec2/2009-04-04/meta-data.json",
                "ec2/latest/user-data", "ec2/latest/meta-data.json"));
        for (String v : MetadataVersions.openstackListing()) {
            expected.add("openstack/" + v + "/meta_data.json");
            expected.add("openstack/" + v + "/user_data");
            if (v.compareTo(MetadataVersions.HAVANA) >= 0) {
                expected.add("openstack/" + v + "/vendor_data.json");
            }
            if (v.compareTo(MetadataVersions.LIBERTY) >= 0) {
                expected.add("openstack/" + v + "/network_data.json");
            }
            if (v.compareTo(MetadataVersions.NEWTON_TWO) >= 0) {
                expected.add("openstack/" + v + "/vendor_data2.json");
            }
        }
        // "latest" sorts after every dated version, as it is newer.
        assertThat(files.stream().map(ConfigDriveFile::path).toList()).containsExactlyElementsOf(expected);
        JsonNode ec2 = JSON.readTree(files.get(1).content());
        assertThat(ec2.path("public-keys").path("0").has("_name")).as("Nova deletes the listing name").isFalse();
        assertThat(ec2.path("public-keys").path("0").path("openssh-key").asText()).isEqualTo(KEY);
        assertThat(ec2.path("local-ipv4").asText()).isEqualTo("10.0.0.5");
        assertThat(new String(files.get(0).content(), StandardCharsets.UTF_8)).isEqualTo(USER_DATA);
        // Without a fixed IPv4 there is no address to fall back on: a drive is made before the guest asks.
        JsonNode bare = JSON.readTree(metadata(false, List.of(), Optional.empty()).configDriveFiles().get(0)
                .content());
        assertThat(bare.path("local-ipv4").isNull()).isTrue();
    }

    @Test
    void pathsAreNormalisedAsPosixpath() {
        assertThat(InstanceMetadata.normalize("/")).isEmpty();
        assertThat(InstanceMetadata.normalize("//openstack/./latest//")).containsExactly("openstack", "latest");
        assertThat(InstanceMetadata.normalize("/../latest/meta-data/../user-data")).containsExactly("latest",
                "user-data");
    }
}
