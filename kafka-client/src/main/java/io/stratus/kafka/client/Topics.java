package io.stratus.kafka.client;

import java.util.Optional;
import java.util.regex.Pattern;

/** The Kafka topics of the design brief: every process names them from here. */
public final class Topics {
    /**
     * The family of event topics: one per host, {@code stratus.events.<host>} (key = instance
     * id), which only that host's agent may write. The control plane reads them all by
     * {@link #HOST_EVENTS} and takes the topic's host as the writer: an event is believed only
     * from the host that holds its instance, or its migration's source or target.
     */
    public static final String EVENTS = "stratus.events";
    /** Every host's event topic. */
    public static final Pattern HOST_EVENTS = family(EVENTS);
    /**
     * The family of host report topics: one per host, {@code stratus.hosts.<host>} (compacted,
     * key = host), which only that host's agent may write. Kafka's ACLs cannot restrict a
     * record's key, so a shared topic would let any agent report for any host; the control plane
     * reads them all by {@link #HOST_REPORTS} and believes a report only for its topic's host.
     */
    public static final String HOSTS = "stratus.hosts";
    /** Every host's report topic. */
    public static final Pattern HOST_REPORTS = family(HOSTS);
    /** The family of instance sample topics, {@code stratus.telemetry.<host>}, written by that host alone. */
    public static final String TELEMETRY = "stratus.telemetry";
    /** Every host's sample topic. */
    public static final Pattern HOST_TELEMETRY = family(TELEMETRY);
    /**
     * The family of dead letter topics, {@code stratus.dlq.<host>}: the commands a host's agent
     * could not apply. Not under {@code stratus.compute.}, whose names are hosts' command topics.
     */
    public static final String DLQ = "stratus.dlq";
    /** Every host's dead letter topic. */
    public static final Pattern HOST_DLQ = family(DLQ);
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
        return hostOf(HOSTS, topic);
    }

    /** The event topic of {@code host}. */
    public static String events(String host) {
        return EVENTS + "." + host;
    }

    /** The host whose event topic {@code topic} is; empty for any other topic. */
    public static Optional<String> hostOfEvents(String topic) {
        return hostOf(EVENTS, topic);
    }

    /** The instance sample topic of {@code host}. */
    public static String telemetry(String host) {
        return TELEMETRY + "." + host;
    }

    /** The dead letter topic of {@code host}'s commands. */
    public static String deadLetters(String host) {
        return DLQ + "." + host;
    }

    private static Pattern family(String stem) {
        return Pattern.compile(Pattern.quote(stem + ".") + ".+");
    }

    private static Optional<String> hostOf(String stem, String topic) {
        String prefix = stem + ".";
        return topic.startsWith(prefix) && topic.length() > prefix.length()
                ? Optional.of(topic.substring(prefix.length())) : Optional.empty();
    }

    /** The command topic of {@code host}. */
    public static String compute(String host) {
        return "stratus.compute." + host;
    }
}
