package io.stratus.kafka.client;

import java.util.Optional;
import java.util.regex.Pattern;

/** The Kafka topics of the design brief: every process names them from here. */
public final class Topics {
    public static final String EVENTS = "stratus.events";
    /**
     * The family of host report topics: one per host, {@code stratus.hosts.<host>} (compacted,
     * key = host), which only that host's agent may write. Kafka's ACLs cannot restrict a
     * record's key, so a shared topic would let any agent report for any host; the control plane
     * reads them all by {@link #HOST_REPORTS} and believes a report only for its topic's host.
     */
    public static final String HOSTS = "stratus.hosts";
    /** Every host's report topic. */
    public static final Pattern HOST_REPORTS = Pattern.compile(Pattern.quote(HOSTS + ".") + ".+");
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

    /** The report topic of {@code host}. */
    public static String hostReports(String host) {
        return HOSTS + "." + host;
    }

    /** The host whose report topic {@code topic} is; empty for any other topic. */
    public static Optional<String> hostOfReports(String topic) {
        String prefix = HOSTS + ".";
        return topic.startsWith(prefix) && topic.length() > prefix.length()
                ? Optional.of(topic.substring(prefix.length())) : Optional.empty();
    }

    /** The command topic of {@code host}. */
    public static String compute(String host) {
        return "stratus.compute." + host;
    }
}
