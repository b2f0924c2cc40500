package io.stratus.scheduler.service;

import io.stratus.database.Database;
import io.stratus.scheduler.network.FloatingIpStore;
import io.stratus.scheduler.network.HostNetworkStates;
import io.stratus.scheduler.network.NetworkQuotaStore;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.network.NetworkStatePublisher;
import io.stratus.scheduler.network.NetworkStore;
import io.stratus.scheduler.network.PortStore;
import io.stratus.scheduler.network.RouterStore;
import io.stratus.scheduler.network.SecurityGroupStore;
import io.stratus.scheduler.network.SubnetPoolStore;
import io.stratus.scheduler.network.SubnetStore;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.time.Clock;
import org.apache.kafka.clients.producer.Producer;

/** Wires the Network API's stores and the network state the agents follow (see {@link SchedulerComponents}). */
@Singleton
public class NetworkComponents {
    @Produces
    @Singleton
    NetworkStatePublisher networkStates(Database db, Clock clock, Producer<String, byte[]> producer) {
        return new NetworkStatePublisher(db.dataSource(), new HostNetworkStates(db.dataSource(), clock), producer,
                clock);
    }

    @Produces
    @Singleton
    NetworkStore networks(Database db, Clock clock, NetworkStatePublisher states) {
        return new NetworkStore(db.dataSource(), clock, states);
    }

    @Produces
    @Singleton
    SubnetStore subnets(Database db, Clock clock, NetworkStatePublisher states) {
        return new SubnetStore(db.dataSource(), clock, states);
    }

    @Produces
    @Singleton
    SubnetPoolStore subnetPools(Database db, Clock clock) {
        return new SubnetPoolStore(db.dataSource(), clock);
    }

    @Produces
    @Singleton
    SecurityGroupStore securityGroups(Database db, Clock clock, NetworkStatePublisher states) {
        return new SecurityGroupStore(db.dataSource(), clock, states);
    }

    @Produces
    @Singleton
    PortStore ports(Database db, Clock clock, SecurityGroupStore groups, NetworkStatePublisher states) {
        return new PortStore(db.dataSource(), clock, groups, states);
    }

    @Produces
    @Singleton
    RouterStore routers(Database db, Clock clock, PortStore ports, NetworkStatePublisher states) {
        return new RouterStore(db.dataSource(), clock, ports, states);
    }

    @Produces
    @Singleton
    FloatingIpStore floatingIps(Database db, Clock clock, PortStore ports, NetworkStatePublisher states) {
        return new FloatingIpStore(db.dataSource(), clock, ports, states);
    }

    @Produces
    @Singleton
    NetworkQuotaStore networkQuotas(Database db) {
        return new NetworkQuotaStore(db.dataSource());
    }

    /** What compute calls for its servers' ports (create, bind on placement and moves, release on delete). */
    @Produces
    @Singleton
    NetworkService networkService(NetworkStore networks, SubnetStore subnets, PortStore ports) {
        return new NetworkService(networks, subnets, ports);
    }
}
