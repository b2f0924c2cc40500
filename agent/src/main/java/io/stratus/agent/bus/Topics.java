package io.stratus.agent.bus;

/** The Kafka topics of the design brief. */
public final class Topics {
    public static final String EVENTS = "stratus.events";
    public static final String HOSTS = "stratus.hosts";
    public static final String TELEMETRY = "stratus.telemetry";
    public static final String DLQ = "stratus.compute.dlq";
    /** Compacted, key = host: each host's whole desired network (HostNetworkState). */
    public static final String NETWORK = "stratus.network";
    /** Header on a dead letter: why it was not applied. */
    public static final String DLQ_REASON_HEADER = "stratus.dlq.reason";
    /** Header on a dead letter: topic-partition@offset it came from. */
    public static final String DLQ_SOURCE_HEADER = "stratus.dlq.source";

    private Topics() {
    }

    /** The command topic of {@code host}. */
    public static String compute(String host) {
        return "stratus.compute." + host;
    }
}
