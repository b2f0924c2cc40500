package io.stratus.kafka.client;

import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * What each principal may do on the bus, as Kafka ACLs. The brokers deny whatever no ACL allows
 * ({@code allow.everyone.if.no.acl.found=false}); the control plane and the brokers are super
 * users and need none.
 *
 * <p>An agent reads only its own command topic, with its own consumer group, the desired
 * network state, and the hosts' reports (a live migration's source checks its target's address
 * there); it writes only its own host's report, event, telemetry and dead letter topics, never a
 * command topic nor another host's topics. Every pattern but the reports' read is
 * LITERAL: a prefixed {@code stratus.compute.h1} would also match host {@code h10}'s topic.
 */
public final class BusAcls {
    private BusAcls() {
    }

    /** The ACLs of {@code host}'s agent ({@link Principals#agent}). */
    public static List<AclBinding> forAgent(String host) {
        String user = Principals.kafkaUser(Principals.agent(host));
        List<AclBinding> acls = new ArrayList<>();
        // Its commands: read them, and create the topic when it starts before the control plane.
        topic(acls, user, Topics.compute(host), AclOperation.READ, AclOperation.CREATE);
        acls.add(new AclBinding(new ResourcePattern(ResourceType.GROUP, Topics.agentGroup(host), PatternType.LITERAL),
                allow(user, AclOperation.READ)));
        // Its networks come from the control plane's compacted state topic (read without a group).
        topic(acls, user, Topics.NETWORK, AclOperation.READ, AclOperation.CREATE);
        // Its reports only on its own report topic: the control plane believes a report for that host alone.
        // Likewise its events, samples and dead letters: the control plane takes a topic's host as its writer.
        for (String written : List.of(Topics.hostReports(host), Topics.events(host), Topics.telemetry(host),
                Topics.deadLetters(host))) {
            topic(acls, user, written, AclOperation.WRITE, AclOperation.CREATE);
        }
        // Every host's reports, read only: the source of a live migration sends the guest only to
        // the gRPC address its target host registered there (HostReportsDirectory).
        acls.add(new AclBinding(new ResourcePattern(ResourceType.TOPIC, Topics.hostReports(""), PatternType.PREFIXED),
                allow(user, AclOperation.READ)));
        acls.add(new AclBinding(new ResourcePattern(ResourceType.TOPIC, Topics.hostReports(""), PatternType.PREFIXED),
                allow(user, AclOperation.DESCRIBE)));
        return acls;
    }

    private static void topic(List<AclBinding> acls, String user, String topic, AclOperation... operations) {
        for (AclOperation op : operations) {
            acls.add(new AclBinding(new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL),
                    allow(user, op)));
        }
    }

    private static AccessControlEntry allow(String user, AclOperation op) {
        return new AccessControlEntry(user, "*", op, AclPermissionType.ALLOW);
    }
}
