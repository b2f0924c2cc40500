package io.stratus.agent.bus;

import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.jboss.logging.Logger;

/**
 * Creates the topics an agent uses where they are missing, with the settings they need (host
 * reports compacted: the latest report per host is what counts). Topics that exist are left as
 * their operator made them.
 */
public final class TopicSetup {
    private static final Logger LOG = Logger.getLogger(TopicSetup.class);

    private TopicSetup() {
    }

    public static void ensure(KafkaClientSettings bus, String host) {
        try (Admin admin = Admin.create(bus.properties("stratus-agent-setup-" + host))) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            for (String name : List.of(Topics.compute(host), Topics.deadLetters(host), Topics.events(host),
                    Topics.telemetry(host))) {
                if (!existing.contains(name)) {
                    missing.add(new NewTopic(name, java.util.Optional.empty(), java.util.Optional.empty()));
                }
            }
            for (String compacted : List.of(Topics.hostReports(host), Topics.NETWORK)) {
                if (!existing.contains(compacted)) {
                    missing.add(new NewTopic(compacted, java.util.Optional.empty(), java.util.Optional.empty())
                            .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
                }
            }
            for (var f : admin.createTopics(missing).values().entrySet()) {
                try {
                    f.getValue().get(30, TimeUnit.SECONDS);
                    LOG.infof("created topic %s", f.getKey());
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot reach Kafka at " + bus.bootstrapServers() + " to set up topics: "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while setting up topics", e);
        }
    }
}
