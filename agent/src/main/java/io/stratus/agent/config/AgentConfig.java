package io.stratus.agent.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/** The agent's settings ({@code stratus.agent.*}): who this host is and what it offers. */
@ConfigMapping(prefix = "stratus.agent")
public interface AgentConfig {
    /** The host's name: its command topic is {@code stratus.compute.<host>}. */
    String host();

    /** Local state: the database, instance directories (disks, snapshots). */
    Path dataDir();

    /**
     * Images placed on this host, one file per image id: where images come from when no
     * {@link #imageService()} is configured.
     */
    Path imagesDir();

    /** Live migrations from and to this host. */
    Migration migration();

    /** The image service this host fetches images from (into its image cache), if one is set. */
    ImageService imageService();

    /** This host's copies of images. */
    ImageCacheSettings imageCache();

    /** What this host offers to guests. */
    Capacity capacity();

    /** How often a {@code HostReport} and instance samples are published. */
    @WithDefault("10s")
    Duration reportInterval();

    /** Snapshot running guests on a graceful stop and restore them on start (agent upgrades). */
    @WithDefault("true")
    boolean snapshotOnShutdown();

    /**
     * Commands applied at once, each instance's in order (a boot waiting for its image holds up
     * only its own instance).
     */
    @WithDefault("32")
    int commandThreads();

    /** Serial console output kept per instance, for StreamConsole. */
    @WithDefault("262144")
    int consoleBufferBytes();

    /**
     * Bytes per second each guest may draw from the host's random source through its entropy
     * device (a burst of one second's worth after a quiet spell); 0: no limit.
     */
    @WithDefault("1048576")
    long entropyBytesPerSecond();

    /**
     * The hypervisor driver: {@code kvm} (the in-JVM VMM), {@code qemu} (a QEMU process per guest),
     * or {@code auto} (kvm where /dev/kvm works, else qemu where it is installed).
     */
    @WithDefault("auto")
    String driver();

    /** The KVM device (pointing it at a missing path makes a host without KVM, for tests). */
    @WithDefault("/dev/kvm")
    Path kvmDevice();

    /** The qemu driver's program and accelerator. */
    Qemu qemu();

    /** The qemu driver. */
    interface Qemu {
        /** The program, a path or a name on PATH. */
        @WithDefault("qemu-system-x86_64")
        String binary();

        /** {@code auto} (KVM where the device opens, else TCG), {@code kvm} or {@code tcg}. */
        @WithDefault("auto")
        String accel();

        /**
         * Whether guests run on when the agent stops gracefully (an upgrade; the next start watches
         * them again, as nova-compute does libvirt's); false: they are stopped, and booted again
         * by the next start.
         */
        @WithDefault("true")
        boolean keepGuestsOnStop();
    }

    /** Tenant networks on this host (its bridges, tunnels, DHCP servers and packet filters). */
    Network network();

    /** How this host carries tenant networks. */
    interface Network {
        /**
         * The local end of this host's VXLAN tunnels; unset: the address this host reaches the
         * Kafka bootstrap server from.
         */
        Optional<String> tunnelAddress();

        /** Flat networks: {@code physnet1:eth1,physnet2:eth2} (Neutron's physical_interface_mappings). */
        Optional<String> physicalInterfaces();

        /**
         * Before {@code qdhcp-<network>}; unset: {@code <host>-} where the agent runs in a named
         * network namespace (a host simulated on a machine with others: namespace names are the
         * machine's), else empty.
         */
        Optional<String> namespacePrefix();

        /** dnsmasq's files; unset: {@code /run/stratus/<host>/dhcp} (dnsmasq, unprivileged, reads them). */
        Optional<java.nio.file.Path> dhcpDir();

        /** How often the latest state is applied again, to repair what drifted. */
        @WithDefault("60s")
        Duration resyncInterval();

        /**
         * Whether this host runs tenants' routers (Neutron's L3 agent role; reported as
         * HostReport.l3_agent): their namespaces, legs, SNAT and floating IPs. Off: the routers of
         * a network state are ignored.
         */
        @WithDefault("false")
        boolean l3Agent();
    }

    /** Guests' metadata: the proxy on tenant networks (169.254.169.254) and config drives. */
    Metadata metadata();

    /** The control plane's metadata API, which the metadata proxies and config drives ask. */
    interface Metadata {
        /**
         * The API's root, such as {@code http://10.0.0.1:8775/metadata}; unset: no metadata proxy
         * on this host's networks, and a boot that asks for a config drive fails.
         */
        Optional<String> url();

        /**
         * Signs the instance ids the agent vouches for (Nova's metadata_proxy_shared_secret); needed
         * with {@link #url()}. Set it in the environment (STRATUS_AGENT_METADATA_SHARED_SECRET).
         */
        Optional<String> sharedSecret();

        /**
         * The UNIX socket the proxies forward to; unset: {@code /run/stratus/<host>/metadata.sock}
         * (at most 107 bytes).
         */
        Optional<Path> socket();

        /** How long one request to the API may take. */
        @WithDefault("5s")
        Duration timeout();
    }

    /**
     * The gRPC address other parts reach this agent on, {@code host:port}, published in host
     * reports; the agent's gRPC server listens there. Unset: {@code 127.0.0.1:8082}, reached by
     * no other host.
     */
    Optional<String> grpcAddress();

    /** Mutual TLS on the gRPC server and on the agent's own calls to peers. */
    Tls tls();

    /**
     * The cloud's certificates (PEM files, as {@code bin/stratus up}'s CA issues them). With all
     * three set, the gRPC server takes only callers whose certificate the CA signed, and a call to
     * a peer agent takes only a server certificate naming that peer's host. Unset: plain text, for
     * a single host on loopback only.
     */
    interface Tls {
        /** This host's certificate, leaf first; its DNS name is the host's, for peers to check. */
        Optional<Path> certificate();

        /** Its private key (PKCS#8). */
        Optional<Path> key();

        /** The CA certificate every caller's and peer's certificate must chain to. */
        Optional<Path> ca();

        /**
         * The control plane's principals (their certificates' common names): the only callers of
         * the console and instance RPCs, which the API's policy guards; peer agents only migrate.
         */
        @WithDefault("stratus-control-plane")
        java.util.List<String> controlPlane();
    }

    /** The Image API and the service user the agent fetches images as. */
    interface ImageService {
        /** The Image API's root, such as {@code http://127.0.0.1:9292/image}; without it, {@link #imagesDir()}. */
        Optional<String> url();

        /** The Identity API (v3) that issues the agent's token; needed with {@link #url()}. */
        Optional<String> identityUrl();

        @WithDefault("stratus-agent")
        String user();

        /** Set it in the environment (STRATUS_AGENT_IMAGE_SERVICE_PASSWORD), not on a command line. */
        Optional<String> password();

        /** The project the agent's service user works in. */
        @WithDefault("service")
        String project();
    }

    /** Live migration: how the source runs it, how long each side waits for the other. */
    interface Migration {
        /** The longest switch-over pause unless the scheduler's command names one. */
        @WithDefault("300ms")
        Duration maxDowntime();

        /** Copy rounds after which a migration that does not converge is aborted (the guest stays). */
        @WithDefault("30")
        int maxRounds();

        /** Bytes per second a migration sends at most (Nova's live_migration_bandwidth); unset: no limit. */
        OptionalLong maxBandwidth();

        /** How long the source waits for the target to be ready (fetch images, build the VM). */
        @WithDefault("120s")
        Duration targetWait();

        /** How long either side waits for the other mid-stream before giving up. */
        @WithDefault("30s")
        Duration stallLimit();

        /** A prepared migration no source started within this is dropped on the target. */
        @WithDefault("10m")
        Duration preparedFor();
    }

    /** The image cache under {@link #dataDir()}. */
    interface ImageCacheSettings {
        /** The most bytes of images kept; the least recently used not in use go first. */
        @WithDefault("21474836480")
        long maxBytes();
    }

    /** Resources for guests. */
    interface Capacity {
        int vcpus();

        long memoryMib();

        /** GiB for instance disks; 0 means the size of the file system that holds {@link #dataDir()}. */
        @WithDefault("0")
        long diskGib();
    }
}
