package io.stratus.agent.guest;

import io.stratus.proto.v1.NetworkInterface;

/**
 * The host side of a guest's NICs on tenant networks (os-vif's plug and unplug in Nova): made
 * before a guest that uses them starts here, removed when its instance leaves this host.
 */
public interface NicPlugs {
    /** Makes the NIC's TAP on its network; doing it again changes nothing. */
    void plug(NetworkInterface nic);

    /** Removes the TAP; one that is gone already is fine. */
    void unplug(String tap);
}
