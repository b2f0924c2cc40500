package io.stratus.agent.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.Optional;

/**
 * The metadata proxy of one network's DHCP namespace, as Neutron runs it for isolated networks
 * ({@code neutron/agent/metadata/driver.py}): Debian's haproxy bound to 169.254.169.254:80 there,
 * forwarding over the agent's UNIX socket. It vouches for two things the agent cannot see from
 * the socket: the network the request came in on ({@code X-Neutron-Network-ID}) and the guest's
 * address ({@code X-Forwarded-For}), and it removes whatever of those, or of the headers the
 * agent sends on to the control plane, the guest wrote itself. Its files are beside dnsmasq's;
 * like dnsmasq it outlives the agent and is found again by its pid file.
 */
public final class MetadataProxies {
    /** Where guests ask (Nova's and EC2's metadata address). */
    static final String ADDRESS = "169.254.169.254";
    static final String CONFIG = "haproxy.cfg";
    static final String PID = "haproxy.pid";
    static final String LOG = "haproxy.log";
    /** Debian's haproxy package makes this user and group; haproxy drops to them once bound. */
    private static final String ACCOUNT = "haproxy";

    private final HostCommands host;
    private final Path socket;

    MetadataProxies(HostCommands host, Path socket) {
        this.host = host;
        this.socket = socket;
    }

    /**
     * The account haproxy runs as when it exists here ({@value #ACCOUNT}): the agent's socket must
     * let its group in. Empty: haproxy stays root, and only root may use the socket.
     */
    public static Optional<String> account() {
        UserPrincipalLookupService users = FileSystems.getDefault().getUserPrincipalLookupService();
        try {
            users.lookupPrincipalByName(ACCOUNT);
            users.lookupPrincipalByGroupName(ACCOUNT);
            return Optional.of(ACCOUNT);
        } catch (IOException e) {
            // UserPrincipalNotFoundException among them: no such account here.
            return Optional.empty();
        }
    }

    /**
     * Starts network {@code networkId}'s proxy in namespace {@code ns} (whose DHCP port holds
     * {@value #ADDRESS} already), or starts it again when its configuration changed; one running
     * as configured is left alone.
     */
    void ensure(String ns, Path dir, String networkId) {
        Path config = dir.resolve(CONFIG);
        try {
            boolean changed = Daemons.write(config, config(networkId, socket, dir.resolve(PID), account()));
            Optional<ProcessHandle> running = Daemons.running(dir.resolve(PID), config);
            if (running.isPresent() && changed) {
                Daemons.stop(running.get());
                running = Optional.empty();
            }
            if (running.isEmpty()) {
                host.runDaemon(dir.resolve(LOG), "ip", "netns", "exec", ns, "haproxy", "-f", config.toString());
            }
        } catch (IOException e) {
            throw new NetworkException("metadata proxy files in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Stops the proxy whose files are in {@code dir}, if one runs, and removes its configuration. */
    static void stop(Path dir) {
        Daemons.running(dir.resolve(PID), dir.resolve(CONFIG)).ifPresent(Daemons::stop);
        try {
            Files.deleteIfExists(dir.resolve(CONFIG));
            Files.deleteIfExists(dir.resolve(PID));
        } catch (IOException e) {
            throw new NetworkException("cannot remove the metadata proxy's files in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * haproxy's configuration: Neutron's, with the headers the agent trusts or sends on (any
     * {@code X-Neutron-*}, {@code X-Instance-ID*}, {@code X-Tenant-ID}, {@code X-Forwarded-For})
     * taken out of the guest's request before the proxy sets its own. No log: the agent logs each
     * request with the instance it found.
     *
     * @param networkId checked by {@link ValidState}: letters, digits and dashes
     */
    static String config(String networkId, Path socket, Path pidFile, Optional<String> account) {
        StringBuilder c = new StringBuilder("# Written by the stratus agent for network ").append(networkId)
                .append("; the agent rewrites it.\nglobal\n");
        account.ifPresent(a -> c.append("    user ").append(a).append("\n    group ").append(a).append('\n'));
        c.append("    maxconn 1024\n    pidfile ").append(pidFile).append("\n    daemon\n\n")
                .append("""
                        defaults
                            mode http
                            option http-server-close
                            retries 3
                            timeout http-request 30s
                            timeout connect 30s
                            timeout client 32s
                            timeout server 32s
                            timeout http-keep-alive 30s

                        listen metadata
                        """)
                .append("    bind ").append(ADDRESS).append(":80\n")
                .append("""
                            http-request del-header X-Neutron- -m beg
                            http-request del-header X-Instance-ID -m beg
                            http-request del-header X-Tenant-ID
                            http-request del-header X-Forwarded-For
                        """)
                .append("    http-request set-header X-Neutron-Network-ID ").append(networkId).append('\n')
                .append("    http-request set-header X-Forwarded-For %[src]\n")
                .append("    server metadata ").append(socket).append('\n');
        return c.toString();
    }
}
