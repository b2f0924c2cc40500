package io.stratus.agent.lifecycle;

import io.stratus.agent.command.CommandHandler;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.store.AgentStore;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.InstanceState;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Fencing at start: an agent that was away (its host declared failed) may find that its servers
 * were rebuilt on other hosts meanwhile; the control plane then put a Delete for each on this
 * host's topic. Those Deletes are applied before any guest is restored, booted again or watched
 * again, so that no server ever runs in two places. The other commands of the backlog wait for
 * the command loop, which takes them in order after recovery as before.
 */
public final class BacklogFence {
    private static final Logger LOG = Logger.getLogger(BacklogFence.class);

    private BacklogFence() {
    }

    /** Applies the backlog's Deletes of instances this host holds; returns how many it applied. */
    public static int applyDeletes(List<CommandEnvelope> backlog, AgentStore store, GuestSupervisor guests,
                            CommandHandler handler) {
        int applied = 0;
        for (CommandEnvelope env : backlog) {
            if (!env.hasDelete()) {
                continue;
            }
            boolean held = store.find(env.getInstanceId()).map(InstanceRecord::state)
                    .filter(s -> s != InstanceState.DELETED).isPresent();
            if (!held) {
                continue;
            }
            LOG.infof("instance %s: deleted before recovery (request %s waited while the agent was away)",
                    env.getInstanceId(), env.getRequestId());
            try {
                if (guests.driver().capabilities().guestsOutliveAgent()) {
                    // A guest that ran on without the agent (a partition, not a death) is found, so that the delete ends it.
                    guests.reattach(store.find(env.getInstanceId()).orElseThrow());
                }
                handler.handle(env);
                applied++;
            } catch (RuntimeException e) {
                // The loop applies it again; recovery must not start what is to be deleted meanwhile.
                LOG.errorf(e, "instance %s: the waiting delete failed before recovery", env.getInstanceId());
            }
        }
        return applied;
    }
}
