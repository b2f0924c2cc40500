package io.stratus.agent.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.proto.v1.HostNetworkState;
import io.stratus.proto.v1.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;

/** A plugged TAP as both hypervisor drivers open it, in a namespace of its own. */
@ResourceLock(Namespaces.HOST_NETWORK)
class PortPlugsIT {
    private static final String HOST = "stn-plug";
    private static final NetworkInterface NIC = NetworkInterface.newBuilder().setMac("fa:16:3e:12:34:56")
            .setTap("tapc0ffee00-11").setPortId("c0ffee00-1122-4000-8000-000000000001")
            .setNetworkId("eeeeeeee-0000-4000-8000-00000000000e").setMtu(1450).build();

    private Namespaces namespaces;
    private HostCommands host;
    private NetworkReconciler reconciler;
    private PortPlugs plugs;
    private Path dir;

    @BeforeEach
    void host() throws Exception {
        Namespaces.assumeUsable();
        namespaces = new Namespaces();
        namespaces.create(HOST);
        host = HostCommands.inNamespace(HOST);
        dir = Files.createTempDirectory("stratus-plug");
        reconciler = new NetworkReconciler(host, new NetworkSettings("127.0.0.1", Map.of(), HOST + "-", dir));
        plugs = new PortPlugs(host, reconciler, Optional.empty());
    }

    @AfterEach
    void cleanUp() {
        if (namespaces != null) {
            namespaces.close();
            HostCommands.local().attempt("rm", "-rf", dir.toString());
        }
    }

    @Test
    void plugsATapOnItsBridgeThatBothDriversOpen() {
        plugs.plug(NIC);
        Links.Link tap = Links.read(host).get(NIC.getTap()).orElseThrow();
        assertThat(tap.kind()).isEqualTo("tun");
        assertThat(tap.master()).isEqualTo(DeviceNames.bridge(NIC.getNetworkId()));
        assertThat(tap.mtu()).isEqualTo(1450);
        assertThat(tap.up()).isTrue();
        assertThat(tap.mac()).isEqualTo("fe:16:3e:12:34:56");
        // Until its port's state comes, the filters are there and the TAP is nobody's.
        assertThat(host.run("nft", "list", "table", "bridge", PacketFilters.TABLE)).contains("\"tap*\"");

        // The in-JVM VMM's open: TUNSETIFF with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR.
        HostCommands.Outcome vmm = host.attempt("python3", "-c", "import fcntl, os, struct\n"
                + "fd = os.open('/dev/net/tun', os.O_RDWR)\n"
                + "fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'" + NIC.getTap() + "', 0x0002 | 0x1000 | 0x4000))\n"
                + "print('attached')");
        if (!vmm.output().contains("cannot run")) {
            assertThat(vmm.output()).contains("attached");
        }
        if (HostCommands.local().attempt("qemu-system-x86_64", "--version").ok()) {
            // QEMU's -netdev tap on the existing TAP: still running when timeout ends it (124).
            HostCommands.Outcome qemu = host.attempt("timeout", "3", "qemu-system-x86_64", "-M", "none", "-nodefaults",
                    "-display", "none", "-netdev", "tap,id=n0,ifname=" + NIC.getTap() + ",script=no,downscript=no");
            assertThat(qemu.exitCode()).as(qemu.output()).isEqualTo(124);
        }
    }

    @Test
    void plugAndUnplugAreIdempotent() {
        plugs.plug(NIC);
        String before = host.run("ip", "-o", "link", "show", NIC.getTap());
        plugs.plug(NIC);
        assertThat(host.run("ip", "-o", "link", "show", NIC.getTap())).isEqualTo(before);
        plugs.unplug(NIC.getTap());
        plugs.unplug(NIC.getTap());
        assertThat(Links.read(host).get(NIC.getTap())).isEmpty();
        reconciler.apply(HostNetworkState.getDefaultInstance());
        assertThat(Links.read(host).get(DeviceNames.bridge(NIC.getNetworkId()))).isEmpty();
        assertThat(host.run("nft", "list", "ruleset")).isEmpty();
    }

    @Test
    void refusesWhatIsNotATap() {
        host.run("ip", "link", "add", "tapnotatap-1", "type", "bridge");
        assertThatThrownBy(() -> plugs.plug(NIC.toBuilder().setTap("tapnotatap-1").build()))
                .isInstanceOf(NetworkException.class).hasMessageContaining("not a TAP");
        assertThatThrownBy(() -> plugs.unplug("eth0")).isInstanceOf(NetworkException.class);
        assertThatThrownBy(() -> new PortPlugs(host, reconciler, Optional.of("not root")).plug(NIC))
                .hasMessageContaining("not root");
    }
}
