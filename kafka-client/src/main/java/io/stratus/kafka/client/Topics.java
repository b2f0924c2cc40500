package io.stratus.kafka.client;

/** The Kafka topics of the design brief: every process names them from here. */
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

    /**
     * The consumer group of {@code host}'s command consumer: one per host, so that a restarted
     * agent resumes its offsets (named here because the ACLs name it too).
     */
    public static String agentGroup(String host) {
        return "stratus-agent-" + host;
    }

    /** The command topic of {@code host}. */
    public static String compute(String host) {
        return "stratus.compute." + host;
    }
}
