package io.stratus.scheduler.network;

import io.stratus.kafka.client.Topics;
import io.stratus.proto.v1.HostNetworkState;
import java.time.Clock;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.jboss.logging.Logger;

/**
 * Publishes hosts' whole network states to {@code stratus.network} (compacted, key = host) after the
 * changes that concern them commit. A failed send is logged, not thrown: the change stands, and the
 * host gets a newer state with the next change or its next first report.
 */
public final class NetworkStatePublisher implements Consumer<Set<String>> {
    public static final String TOPIC = Topics.NETWORK;
    private static final Logger LOG = Logger.getLogger(NetworkStatePublisher.class);

    private final DataSource db;
    private final Clock clock;
    private final HostNetworkStates states;
    private final Producer<String, byte[]> producer;
    /** Hosts reported since this replica started: a host's first report brings its state again. */
    private final Set<String> seen = ConcurrentHashMap.newKeySet();

    public NetworkStatePublisher(DataSource db, HostNetworkStates states, Producer<String, byte[]> producer,
                                 Clock clock) {
        this.db = db;
        this.clock = clock;
        this.states = states;
        this.producer = producer;
    }

    @Override
    public void accept(Set<String> hosts) {
        for (String host : new TreeSet<>(hosts)) {
            publish(host);
        }
    }

    public void publish(String host) {
        HostNetworkState state = states.build(host);
        try {
            producer.send(new ProducerRecord<>(TOPIC, host, state.toByteArray())).get(15, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warnf("interrupted while publishing the network state of %s", host);
        } catch (ExecutionException | TimeoutException e) {
            LOG.warnf("the network state of %s (generation %d) was not published: %s", host, state.getGeneration(),
                    e.getMessage());
        }
    }

    /**
     * A host reported its tunnel address and whether it runs routers: kept for the other hosts'
     * states and for placing routers. When the address is new or changed, the hosts sharing a
     * network with it get their states again; when the L3 role came or went, routers are placed
     * again and the hosts they concern get theirs; on a host's first report since this replica
     * started, it gets its own.
     */
    public void reported(String host, String tunnelAddress, boolean l3Agent) {
        boolean first = !seen.contains(host);
        Set<String> affected = Atomically.run(db, tx -> {
            Set<String> peers = new TreeSet<>();
            Optional<String> known = tx.one("SELECT tunnel_address FROM host_network WHERE host = ?",
                    r -> r.getString(1), host);
            boolean wasL3 = tx.one("SELECT l3_agent FROM host_network WHERE host = ?", r -> r.getBoolean(1), host)
                    .orElse(false);
            if (known.filter(tunnelAddress::equals).isPresent() && wasL3 == l3Agent) {
                return peers;
            }
            if (known.isEmpty()) {
                Atomically.insertPicked(tx, "INSERT INTO host_network (host, tunnel_address, generation, l3_agent)"
                        + " VALUES (?, ?, 1, ?)", host, tunnelAddress, l3Agent);
            } else {
                tx.update("UPDATE host_network SET tunnel_address = ?, l3_agent = ?, generation = generation + 1"
                        + " WHERE host = ?", tunnelAddress, l3Agent, host);
            }
            if (known.filter(tunnelAddress::equals).isEmpty()) {
                peers.addAll(tx.list("SELECT DISTINCT host_id FROM port WHERE host_id <> '' AND host_id <> ? AND"
                        + " network_id IN (SELECT network_id FROM port WHERE host_id = ?)", r -> r.getString(1),
                        host, host));
            }
            if (wasL3 != l3Agent) {
                peers.addAll(RouterHosts.settle(tx, clock));
                peers.remove(host);
            }
            HostNetworks.bump(tx, peers);
            if (wasL3 != l3Agent) {
                // Its own state changed with its routers; the update above bumped it once already.
                peers.add(host);
            }
            return peers;
        });
        if (first) {
            affected.add(host);
        }
        accept(affected);
        seen.add(host);
    }
}
