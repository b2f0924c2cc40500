package io.stratus.kvm.virtio.block;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.Objects;

/**
 * A volume that fills a slot of a {@link VirtioBlock}: its id (the disk's serial) and where its data
 * is served. This is what a snapshot or migration of the device keeps instead of the data, which
 * lives on the NBD server.
 *
 * @param volumeId the volume's id; its first {@link VirtioBlock#ID_BYTES} bytes are the serial
 * @param server   {@code unix:/path} for a Unix socket, {@code host:port} (IPv6 in brackets) over TCP
 * @param export   the export's name (empty: the server's default export)
 * @param readOnly whether the guest may only read it
 */
public record NbdVolume(String volumeId, String server, String export, boolean readOnly) {
    public NbdVolume {
        Objects.requireNonNull(volumeId, "volumeId");
        Objects.requireNonNull(export, "export");
        address(Objects.requireNonNull(server, "server"), false);
    }

    /** A volume on a server listening on a Unix socket. */
    public static NbdVolume unix(String volumeId, String socketPath, String export, boolean readOnly) {
        return new NbdVolume(volumeId, "unix:" + socketPath, export, readOnly);
    }

    /** A volume on a server listening on TCP. */
    public static NbdVolume tcp(String volumeId, String host, int port, String export, boolean readOnly) {
        return new NbdVolume(volumeId, (host.contains(":") ? "[" + host + "]" : host) + ":" + port, export, readOnly);
    }

    /** The server's socket address. */
    public SocketAddress address() {
        return address(server, true);
    }

    /** Parses {@code server}; the host name is looked up only when {@code resolve}. */
    private static SocketAddress address(String server, boolean resolve) {
        if (server.startsWith("unix:")) {
            String path = server.substring("unix:".length());
            if (!path.startsWith("/")) {
                throw new IllegalArgumentException("an NBD server's Unix socket is an absolute path, not '" + path + "'");
            }
            return UnixDomainSocketAddress.of(path);
        }
        int colon = server.lastIndexOf(':');
        if (colon <= 0 || colon == server.length() - 1) {
            throw new IllegalArgumentException("an NBD server is unix:/path or host:port, not '" + server + "'");
        }
        String host = server.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(server.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("an NBD server's port is a number, not in '" + server + "'");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("an NBD server's port is 1 to 65535, not " + port);
        }
        return resolve ? new InetSocketAddress(host, port) : InetSocketAddress.createUnresolved(host, port);
    }

    /** The volume's id as the disk's serial: its first {@link VirtioBlock#ID_BYTES} bytes. */
    public String serial() {
        return volumeId.length() <= VirtioBlock.ID_BYTES ? volumeId : volumeId.substring(0, VirtioBlock.ID_BYTES);
    }

    @Override
    public String toString() {
        return "volume " + volumeId + " (NBD export '" + export + "' at " + server + (readOnly ? ", read-only)" : ")");
    }
}
