package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.ProtoTime;
import io.stratus.proto.v1.WatchdogAction;
import io.stratus.scheduler.compute.InstanceAction;
import io.stratus.scheduler.compute.InstanceActionStore;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.compute.WatchdogPolicy;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * What a server's host did to it without an API request, kept as instance actions (Nova's
 * {@code os-instance-actions}): a watchdog firing and the action the agent took. The action's
 * request id is made from the event's id, so that an event read twice is recorded once.
 */
final class GuestActions {
    private static final Logger LOG = Logger.getLogger(GuestActions.class);
    /** The action's name in the list (Nova has none of its own: libvirt acts without telling it). */
    static final String WATCHDOG = "watchdog";
    /** Who took it: the host, on no user's behalf. */
    static final String SYSTEM_USER = "system";

    private final InstanceActionStore actions;

    GuestActions(InstanceActionStore actions) {
        this.actions = actions;
    }

    void record(Server s, InstanceEvent e) {
        WatchdogAction fired = e.getWatchdogFired();
        if (fired == WatchdogAction.WATCHDOG_ACTION_UNSPECIFIED || fired == WatchdogAction.UNRECOGNIZED) {
            return;
        }
        String requestId = "req-" + e.getEventId();
        if (actions.find(s.id(), requestId).isPresent()) {
            return;
        }
        LOG.infof("instance %s: its watchdog fired on %s; the host's action: %s", s.id(), e.getHost(),
                WatchdogPolicy.novaName(fired));
        actions.record(new InstanceAction(s.id(), requestId, WATCHDOG, s.projectId(), SYSTEM_USER,
                ProtoTime.instant(e.getOccurredAt()), Optional.of("the guest's watchdog fired on host " + e.getHost()
                        + "; action: " + WatchdogPolicy.novaName(fired))));
    }
}
