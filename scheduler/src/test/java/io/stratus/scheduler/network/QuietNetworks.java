package io.stratus.scheduler.network;

import java.time.Clock;
import javax.sql.DataSource;

/** The network side over a test database, telling no host about changes (no agents listen in unit tests). */
public final class QuietNetworks {
    private QuietNetworks() {
    }

    public static NetworkService service(DataSource db, Clock clock) {
        return new NetworkService(new NetworkStore(db, clock, hosts -> { }), new SubnetStore(db, clock, hosts -> { }),
                new PortStore(db, clock, new SecurityGroupStore(db, clock, hosts -> { }), hosts -> { }));
    }
}
