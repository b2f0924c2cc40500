package io.stratus.agent.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** The agent's settings ({@code stratus.agent.*}): who this host is and what it offers. */
@ConfigMapping(prefix = "stratus.agent")
public interface AgentConfig {
    /** The host's name: its command topic is {@code stratus.compute.<host>}. */
    String host();

    /** Local state: the database, instance directories (disks, snapshots). */
    Path dataDir();

    /** Where images are found by id until the image service serves them. */
    Path imagesDir();

    /** What this host offers to guests. */
    Capacity capacity();

    /** How often a {@code HostReport} and instance samples are published. */
    @WithDefault("10s")
    Duration reportInterval();

    /** Snapshot running guests on a graceful stop and restore them on start (agent upgrades). */
    @WithDefault("true")
    boolean snapshotOnShutdown();

    /** Serial console output kept per instance, for StreamConsole. */
    @WithDefault("262144")
    int consoleBufferBytes();

    /** The gRPC address other parts reach this agent on, published in host reports. */
    Optional<String> grpcAddress();

    /** Resources for guests. */
    interface Capacity {
        int vcpus();

        long memoryMib();

        /** GiB for instance disks; 0 means the size of the file system that holds {@link #dataDir()}. */
        @WithDefault("0")
        long diskGib();
    }
}
