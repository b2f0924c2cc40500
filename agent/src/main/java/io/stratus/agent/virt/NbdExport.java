package io.stratus.agent.virt;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a volume's data is served: an NBD export, as the NBD URI standard names it
 * ({@code nbd://host[:port]/export} over TCP, {@code nbd+unix:///export?socket=/path} over a Unix
 * socket). Parsed once, at the edge, so that drivers see either a TCP address or a socket path.
 *
 * @param host   the server's host over TCP; empty for a Unix socket
 * @param port   the server's TCP port (the protocol's own 10809 when the URI has none)
 * @param socket the server's Unix socket; empty over TCP
 * @param name   the export's name (empty: the server's default export)
 */
public record NbdExport(String host, int port, Optional<Path> socket, String name) {
    /** NBD's port registered with IANA. */
    public static final int DEFAULT_PORT = 10809;

    public NbdExport {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(socket, "socket");
        Objects.requireNonNull(name, "name");
    }

    /**
     * The export {@code uri} names.
     *
     * @throws HypervisorException {@code VolumeUnusable}: not an NBD URI this host can reach (TLS
     *                             exports, {@code nbds://}, are not spoken)
     */
    public static NbdExport parse(String uri) {
        URI u;
        try {
            u = new URI(uri);
        } catch (URISyntaxException e) {
            throw unusable(uri, e.getMessage());
        }
        String scheme = Optional.ofNullable(u.getScheme()).orElse("");
        String name = exportName(uri, u);
        switch (scheme) {
            case "nbd", "nbd+tcp" -> {
                if (u.getHost() == null || u.getHost().isEmpty()) {
                    throw unusable(uri, "it names no host");
                }
                if (u.getRawQuery() != null) {
                    throw unusable(uri, "a TCP export takes no query");
                }
                String host = u.getHost().startsWith("[") ? u.getHost().substring(1, u.getHost().length() - 1)
                        : u.getHost();
                return new NbdExport(host, u.getPort() < 0 ? DEFAULT_PORT : u.getPort(), Optional.empty(), name);
            }
            case "nbd+unix" -> {
                if (u.getRawAuthority() != null) {
                    throw unusable(uri, "a Unix socket export names no host (nbd+unix:///export?socket=/path)");
                }
                String query = Optional.ofNullable(u.getRawQuery()).orElse("");
                if (!query.startsWith("socket=") || query.contains("&")) {
                    throw unusable(uri, "it names no socket (nbd+unix:///export?socket=/path)");
                }
                String socket = URLDecoder.decode(query.substring("socket=".length()), StandardCharsets.UTF_8);
                if (!socket.startsWith("/")) {
                    throw unusable(uri, "its socket is not an absolute path");
                }
                return new NbdExport("", 0, Optional.of(Path.of(socket)), name);
            }
            default -> throw unusable(uri, "the scheme is not nbd:// or nbd+unix:// (TLS exports are not spoken here)");
        }
    }

    private static String exportName(String uri, URI u) {
        String path = Optional.ofNullable(u.getRawPath()).orElse("");
        String name = path.startsWith("/") ? path.substring(1) : path;
        name = URLDecoder.decode(name.replace("+", "%2B"), StandardCharsets.UTF_8);
        // The protocol's limit on an export name (NBD_OPT_GO carries it with a 32-bit length; servers take 4096).
        if (name.length() > 4096 || name.chars().anyMatch(c -> c < 0x20)) {
            throw unusable(uri, "the export name is too long or holds control characters");
        }
        return name;
    }

    private static HypervisorException unusable(String uri, String why) {
        return new HypervisorException("VolumeUnusable", "'" + uri + "' is not a usable NBD URI: " + why);
    }

    /** The URI again, as QEMU and qemu-nbd write it. */
    @Override
    public String toString() {
        return socket.map(s -> "nbd+unix:///" + name + "?socket=" + s)
                .orElse("nbd://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/" + name);
    }
}
