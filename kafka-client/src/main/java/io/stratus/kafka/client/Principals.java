package io.stratus.kafka.client;

/**
 * The names the bus knows its callers by: a certificate's common name, which the brokers map to
 * the Kafka principal {@code User:<name>} and which the ACLs of {@link BusAcls} name.
 */
public final class Principals {
    /** The control plane (scheduler): a super user of the brokers. */
    public static final String CONTROL_PLANE = "stratus-control-plane";
    /** The brokers themselves (inter-broker and controller traffic): a super user too. */
    public static final String BROKER = "stratus-kafka";

    private Principals() {
    }

    /** The agent of {@code host}. */
    public static String agent(String host) {
        return "agent-" + host;
    }

    /** Kafka's form of a principal name, as ACLs and {@code super.users} write it. */
    public static String kafkaUser(String name) {
        return "User:" + name;
    }
}
