package io.stratus.agent.network;

import io.stratus.agent.guest.NicPlugs;
import io.stratus.proto.v1.NetworkInterface;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A guest NIC's host side, for the boot, delete and migration paths (os-vif's plug and unplug in
 * Nova): a persistent TAP on its network's bridge, which either hypervisor driver then opens by
 * name. The TAP is made single-queue without flags: an opener's IFF_VNET_HDR is its own choice
 * per open, but IFF_MULTI_QUEUE must match how the device was made (TUNSETIFF refuses otherwise),
 * and both drivers open one queue. Until the port's filters arrive in a network state, the TAP
 * passes nothing (see {@link PacketFilters}).
 */
public final class PortPlugs implements NicPlugs {
    private static final Pattern TAP = Pattern.compile("tap[A-Za-z0-9-]{1,12}");
    private static final Pattern MAC = Pattern.compile("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9-]{0,63}");

    private final HostCommands host;
    private final NetworkReconciler reconciler;
    private final Optional<String> unusable;

    public PortPlugs(HostCommands host, NetworkReconciler reconciler, Optional<String> unusable) {
        this.host = host;
        this.reconciler = reconciler;
        this.unusable = unusable;
    }

    /** Why this host cannot carry tenant networks (not root; ip, bridge, nft or dnsmasq missing); empty when it can. */
    public Optional<String> unusable() {
        return unusable;
    }

    /**
     * Makes the NIC's TAP (if it does not exist), with the NIC's MTU, on its network's bridge (made
     * if the network's state has not arrived yet), and up. Doing it again changes nothing.
     *
     * @throws NetworkException the host cannot, or the NIC names an interface that is not a TAP
     */
    @Override
    public void plug(NetworkInterface nic) {
        unusable.ifPresent(reason -> {
            throw new NetworkException("this host carries no tenant networks: " + reason);
        });
        String tap = checkedTap(nic.getTap());
        if (!MAC.matcher(nic.getMac()).matches() || !ID.matcher(nic.getNetworkId()).matches()) {
            throw new NetworkException("NIC " + tap + ": MAC '" + nic.getMac() + "' or network '"
                    + nic.getNetworkId() + "' is not well-formed");
        }
        reconciler.withFilters(() -> {
            Links links = Links.read(host);
            Optional<Links.Link> existing = links.get(tap);
            if (existing.isPresent() && !existing.get().kind().equals("tun")) {
                throw new NetworkException(tap + " exists and is not a TAP (" + existing.get().kind() + ")");
            }
            if (existing.isEmpty()) {
                host.run("ip", "tuntap", "add", "dev", tap, "mode", "tap");
            }
            // The guest's MAC with fe as first octet (as libvirt does): the bridge takes the lowest
            // MAC of its ports as its own, which must never be a guest's, and fe: is never lowest.
            String hostMac = "fe" + nic.getMac().toLowerCase(java.util.Locale.ROOT).substring(2);
            if (existing.map(l -> !l.mac().equals(hostMac)).orElse(true)) {
                host.run("ip", "link", "set", tap, "address", hostMac);
            }
            Bridges bridges = new Bridges(host);
            String bridge = DeviceNames.bridge(nic.getNetworkId());
            bridges.ensureBridge(links, bridge, links.get(bridge).isPresent() ? 0 : (int) nic.getMtu());
            bridges.attach(Links.read(host), tap, bridge, (int) nic.getMtu());
        });
    }

    /** Removes the TAP; one that is gone already is fine. */
    @Override
    public void unplug(String tap) {
        checkedTap(tap);
        Optional<Links.Link> existing = Links.read(host).get(tap);
        if (existing.isEmpty()) {
            return;
        }
        if (!existing.get().kind().equals("tun")) {
            throw new NetworkException(tap + " is not a TAP (" + existing.get().kind() + "): not removed");
        }
        host.run("ip", "link", "del", tap);
    }

    private static String checkedTap(String tap) {
        if (!TAP.matcher(tap).matches()) {
            throw new NetworkException("'" + tap + "' is not a TAP name (tap and up to 12 letters, digits or '-')");
        }
        return tap;
    }
}
