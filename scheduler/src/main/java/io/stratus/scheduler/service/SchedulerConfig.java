package io.stratus.scheduler.service;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/** The scheduler's settings ({@code stratus.scheduler.*}). */
@ConfigMapping(prefix = "stratus.scheduler")
public interface SchedulerConfig {
    /** The base URL clients reach this scheduler under: the service catalog names it. */
    String publicUrl();

    /** This replica's name (its consumer group for host reports is its own). */
    String replica();

    /** Local state of the embedded database. */
    Path dataDir();

    /**
     * The image service's Image API root, such as {@code http://127.0.0.1:9292/image}: the
     * scheduler reads image records there, and the service catalog names it for clients.
     */
    String imageUrl();

    Database db();

    Admin admin();

    /** How long an issued token is valid. */
    Duration tokenLifetime();

    /** Failed-login lockout (Keystone's {@code lockout_failure_attempts}, {@code lockout_duration}). */
    Lockout lockout();

    interface Lockout {
        /** Failed logins in a row that lock a user; 0 turns the lockout off. */
        @WithDefault("6")
        int failureAttempts();

        @WithDefault("PT30M")
        Duration duration();
    }

    Ratios ratios();

    Weights weights();

    /**
     * Whether a host takes servers from its first report (Nova's {@code enable_new_services}). Off
     * by default: a new host registers disabled until an operator enables it
     * ({@code openstack compute service set --enable}); the clouds of {@code bin/stratus up}, the
     * tests and the benchmarks start their own agents and turn it on.
     */
    @WithDefault("false")
    boolean newHostsEnabled();

    /** A host whose last report is older than this is down: not chosen, shown as down. */
    Duration hostDownAfter();

    /**
     * A host with no report for this long whose agent does not answer Describe has failed: its
     * HA servers are evacuated, its other servers go to ERROR (HostDown) for an admin to evacuate.
     */
    @WithDefault("PT60S")
    Duration hostFailedAfter();

    /** How many HA servers of failed hosts one sweep starts to evacuate. */
    @WithDefault("2")
    int evacuationsAtOnce();

    /** Hosts a boot is tried on in all (the first and the reschedules). */
    int maxAttempts();

    /** A task whose agent has said nothing for this long is given up. */
    Duration taskTimeout();

    /**
     * How long a server waits in BUILD for the volumes made for it (from an image or a snapshot)
     * before it goes to ERROR: Nova's {@code block_device_allocate_retries} ×
     * {@code block_device_allocate_retries_interval}, 60 × 3 s.
     */
    @WithDefault("PT180S")
    Duration volumeWait();

    /**
     * A resize or cold migration waiting in VERIFY_RESIZE this long is confirmed automatically
     * (Nova's resize_confirm_window); 0 leaves it to the user.
     */
    @WithDefault("0s")
    Duration resizeConfirmWindow();

    /**
     * Quotas of a project that has none of its own (instances, cores, ram in MiB, key_pairs,
     * metadata_items; -1 unlimited).
     */
    Map<String, Long> defaultQuota();

    /** How often stuck tasks are looked for (read by the sweep's schedule). */
    Duration sweepInterval();

    /** Where the database is. */
    interface Database {
        /** {@code jdbc:h2:file:...} (embedded) or {@code jdbc:postgresql://...}. */
        String url();

        String user();

        String password();

        int poolSize();
    }

    /**
     * The first administrator, created when the database has no user at all. Without a password
     * one is generated and written to {@code <data-dir>/admin-password} (see {@code AdminPassword}).
     */
    interface Admin {
        String user();

        Optional<String> password();

        String project();
    }

    /** The scheduler's certificates for calling the agents' gRPC servers (console output). */
    AgentTls agentTls();

    /**
     * PEM files, as {@code bin/stratus up}'s CA issues them: the scheduler's certificate (its
     * common name is the principal agents serve consoles to), its key, and the CA an agent's
     * certificate must chain to; an agent's must also name the agent's host. Unset: plain text,
     * for agents that serve it (one host on loopback).
     */
    interface AgentTls {
        Optional<Path> certificate();

        Optional<Path> key();

        Optional<Path> ca();
    }

    /** Allocation ratios per resource class. */
    interface Ratios {
        double cpu();

        double ram();

        double disk();
    }

    /** Weigher multipliers. */
    interface Weights {
        double ram();

        double cpu();

        double sameImage();
    }
}
