package io.stratus.scheduler.service;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;

/** The volume service's settings ({@code stratus.volume.*}). */
@ConfigMapping(prefix = "stratus.volume")
public interface VolumeConfig {
    /** The pool: one qcow2 file per volume and per snapshot (0700 directory, 0600 files). */
    Path poolDir();

    @WithDefault("qemu-img")
    String qemuImg();

    @WithDefault("qemu-nbd")
    String qemuNbd();

    /** Threads that make, copy, resize and delete volume files. */
    @WithDefault("2")
    int workers();

    Nbd nbd();

    /** Where volumes are exported to the servers' hosts. */
    interface Nbd {
        /**
         * The address exports listen on and agents connect to: loopback on one host, an address
         * the agents reach (their bridge under {@code bin/stratus up}) otherwise.
         */
        @WithDefault("127.0.0.1")
        String address();

        @WithDefault("10809")
        int firstPort();

        @WithDefault("10999")
        int lastPort();
    }
}
