package io.stratus.scheduler.network;

import io.stratus.kafka.client.KafkaClientSettings;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.jboss.logging.Logger;

/**
 * Creates {@code stratus.network} compacted where it is missing: only the latest state per host
 * counts, and an agent that starts reads each host's latest from it. An existing topic is left as
 * its operator made it; an unreachable broker is logged and left to auto-creation.
 */
public final class NetworkTopic {
    private static final Logger LOG = Logger.getLogger(NetworkTopic.class);

    private NetworkTopic() {
    }

    public static void ensure(KafkaClientSettings bus) {
        try (Admin admin = Admin.create(bus.properties("stratus-scheduler-setup"))) {
            if (admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(NetworkStatePublisher.TOPIC)) {
                return;
            }
            admin.createTopics(List.of(new NewTopic(NetworkStatePublisher.TOPIC, Optional.empty(), Optional.empty())
                    .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT))))
                    .all().get(30, TimeUnit.SECONDS);
            LOG.infof("created topic %s (compacted)", NetworkStatePublisher.TOPIC);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                LOG.warnf("cannot create topic %s: %s", NetworkStatePublisher.TOPIC, e.getMessage());
            }
        } catch (TimeoutException e) {
            LOG.warnf("cannot reach Kafka at %s to create %s: %s", bus.bootstrapServers(), NetworkStatePublisher.TOPIC,
                    e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
