package io.stratus.kvm.migration;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.Channel;
import java.nio.channels.NetworkChannel;

/** What the stream asks of a TCP socket it runs over. */
final class Sockets {
    private Sockets() {
    }

    /**
     * Turns Nagle's algorithm off where {@code channel} is a TCP socket: a small frame after a
     * large one (ROUND_END, STATE, an answer) would otherwise wait for the peer's delayed ACK,
     * about 40 ms, and every such wait at the switch-over is downtime.
     */
    static void noDelay(Channel channel) {
        if (channel instanceof NetworkChannel socket
                && socket.supportedOptions().contains(StandardSocketOptions.TCP_NODELAY)) {
            try {
                socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
            } catch (IOException | UnsupportedOperationException e) {
                // A socket that refuses is merely slower.
            }
        }
    }
}
