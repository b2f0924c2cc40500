package io.stratus.agent.lifecycle;

import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.store.AgentStore;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.InstanceState;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Fencing at start: an agent that was away (its host declared failed) may find that its servers
 * were rebuilt on other hosts meanwhile; the control plane then put a Delete for each on this
 * host's topic. Those Deletes are applied before any guest is restored, booted again or watched
 * again, so that no server ever runs in two places. The other commands of the backlog wait for
 * the command loop, which takes them in order after recovery as before. A Delete that fails here
 * (the store or the bus failing) keeps its instance out of recovery: the loop applies it again.
 */
public final class BacklogFence {
    private static final Logger LOG = Logger.getLogger(BacklogFence.class);

    private BacklogFence() {
    }

    /**
     * What the fence did: how many Deletes it applied, and the instances whose Delete failed, which
     * recovery must leave alone.
     */
    public record Outcome(int applied, Set<String> heldBack) {
        public Outcome {
            heldBack = Set.copyOf(heldBack);
        }
    }

    /** Applies ({@code apply}: the command handler) the backlog's Deletes of instances this host holds. */
    public static Outcome applyDeletes(List<CommandEnvelope> backlog, AgentStore store, GuestSupervisor guests,
                                       Consumer<CommandEnvelope> apply) {
        int applied = 0;
        Set<String> heldBack = new HashSet<>();
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
                apply.accept(env);
                applied++;
            } catch (RuntimeException e) {
                // The loop applies it again; recovery must not start what is to be deleted meanwhile.
                LOG.errorf(e, "instance %s: the waiting delete failed before recovery; it is not recovered",
                        env.getInstanceId());
                heldBack.add(env.getInstanceId());
                stopQuietly(guests, env.getInstanceId());
            }
        }
        return new Outcome(applied, heldBack);
    }

    /** A guest found running (it outlived the agent) is not left running while its Delete waits. */
    private static void stopQuietly(GuestSupervisor guests, String id) {
        if (guests.running(id).isEmpty()) {
            return;
        }
        try {
            guests.stop(id);
        } catch (RuntimeException e) {
            LOG.errorf(e, "instance %s: its guest could not be stopped while its delete waits", id);
        }
    }
}
