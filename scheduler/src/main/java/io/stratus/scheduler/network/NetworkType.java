package io.stratus.scheduler.network;

import java.util.Optional;

/** Neutron's provider:network_type values that Stratus' agents build. */
public enum NetworkType {
    VXLAN, FLAT;

    public String apiName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Optional<NetworkType> ofApiName(String s) {
        for (NetworkType t : values()) {
            if (t.apiName().equals(s)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
