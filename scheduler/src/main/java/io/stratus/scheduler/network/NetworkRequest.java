package io.stratus.scheduler.network;

import java.util.Optional;

/** One entry of a server create's {@code networks}, as Nova takes them. */
public sealed interface NetworkRequest {
    /** A new port on this network, at this fixed IP if given. */
    record OnNetwork(String networkId, Optional<String> fixedIp) implements NetworkRequest {
    }

    /** An existing, unused port of the project. */
    record ExistingPort(String portId) implements NetworkRequest {
    }

    /** A port on the one network the project can use (its own or shared). */
    record Auto() implements NetworkRequest {
    }

    /** No network at all. */
    record None() implements NetworkRequest {
    }
}
