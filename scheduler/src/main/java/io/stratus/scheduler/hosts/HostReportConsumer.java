package io.stratus.scheduler.hosts;

import io.stratus.kafka.client.KafkaClientSettings;
import io.stratus.kafka.client.Topics;
import com.google.protobuf.InvalidProtocolBufferException;
import io.stratus.proto.v1.HostReport;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

/**
 * Reads the hosts' report topics ({@code stratus.hosts.<host>}, found by pattern as hosts appear)
 * into a {@link HostDirectory}. Every scheduler replica needs every report, so each reads in a
 * consumer group of its own, from the start of the compacted topics (the latest report per host)
 * and then as reports come. A record that is not a report, or one that cannot be applied now (the
 * database is down), is logged and skipped: the host's next report replaces it.
 *
 * <p>Only the agent of a host may write its topic (the brokers' ACLs), so a report counts only
 * for its topic's host: one that names another host is a forgery (or a misconfigured agent), is
 * dropped, counted and logged, and never reaches the weighers.
 */
public final class HostReportConsumer implements Runnable {
    private static final Logger LOG = Logger.getLogger(HostReportConsumer.class);
    /** How soon a new host's topic is found: the pattern is matched against the cluster's metadata. */
    private static final String TOPIC_DISCOVERY_MS = "2000";

    private final KafkaConsumer<String, byte[]> consumer;
    private final HostDirectory hosts;
    private final AtomicLong forged = new AtomicLong();
    private volatile boolean running = true;

    /** @param replica this scheduler replica's name; its consumer group is its own */
    public HostReportConsumer(KafkaClientSettings bus, String replica, HostDirectory hosts) {
        Properties p = bus.properties("stratus-scheduler-" + replica);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "stratus-scheduler-hosts-" + replica);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "true");
        p.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, TOPIC_DISCOVERY_MS);
        this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        this.hosts = hosts;
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(Topics.HOST_REPORTS);
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    try {
                        HostReport report = HostReport.parseFrom(r.value() == null ? new byte[0] : r.value());
                        String writer = Topics.hostOfReports(r.topic()).orElse("");
                        if (!report.getHost().equals(writer)) {
                            forged.incrementAndGet();
                            LOG.warnf("%s-%d@%d dropped: a report for host '%s' on the topic of host '%s', which"
                                    + " only that host's agent writes", r.topic(), r.partition(), r.offset(),
                                    report.getHost(), writer);
                            continue;
                        }
                        hosts.apply(report);
                    } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
                        LOG.warnf("%s-%d@%d (key %s) skipped: not a usable host report: %s", r.topic(),
                                r.partition(), r.offset(), r.key(), e.getMessage());
                    } catch (RuntimeException e) {
                        // The database may be down for a while: the host's next report replaces this one.
                        LOG.warnf("host report of %s not applied: %s", r.key(), e.getMessage());
                    }
                }
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** Reports dropped because they named another host than their topic's. */
    public long forgedReports() {
        return forged.get();
    }

    /** Ends the loop; the caller joins its thread. */
    public void stop() {
        running = false;
        consumer.wakeup();
    }
}
