package io.stratus.scheduler.service;

import io.smallrye.config.ConfigMapping;
import java.util.Optional;

/** The metadata service's settings ({@code stratus.metadata.*}). */
@ConfigMapping(prefix = "stratus.metadata")
public interface MetadataConfig {
    /**
     * The secret the agents' metadata proxies sign instance ids with (Neutron's
     * {@code metadata_proxy_shared_secret}); without one the metadata service answers 503.
     */
    Optional<String> sharedSecret();

    /** The domain guests' hostnames are given in (Nova's {@code dhcp_domain}); empty: none. */
    Optional<String> dhcpDomain();
}
