package io.stratus.kvm.migration;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/** A connected pair of loopback sockets: the source's end and the target's end of a migration. */
final class LoopbackLink implements AutoCloseable {
    private final SocketChannel source;
    private final SocketChannel target;

    private LoopbackLink(SocketChannel source, SocketChannel target) {
        this.source = source;
        this.target = target;
    }

    static LoopbackLink open() throws IOException {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            SocketChannel source = SocketChannel.open(server.getLocalAddress());
            return new LoopbackLink(source, server.accept());
        }
    }

    SocketChannel source() {
        return source;
    }

    SocketChannel target() {
        return target;
    }

    @Override
    public void close() throws IOException {
        try (source; target) {
            // Both ends close, the second even if the first fails.
        }
    }
}
