package io.stratus.scheduler.conductor;

import io.stratus.proto.v1.InstanceEvent;
import io.stratus.proto.v1.TaskState;
import io.stratus.scheduler.compute.Server;

/**
 * One kind of move of a server, start to end (Nova's {@code conductor/tasks}: a task's
 * {@code _execute} and its {@code rollback}). Each kind starts itself (its own checks and
 * claims), says what its hosts' events mean, and gives back what it holds when it fails;
 * {@link TaskRunner} alone decides when that is, so each clean-up is written once.
 */
interface MoveTask {
    /** The server's task while a move of this kind runs. */
    TaskState task();

    /** What an event of the move's hosts means for the move of {@code s} ({@code s.requestId()}). */
    Progress follow(Server s, InstanceEvent e);

    /**
     * Tells the hosts to stop the move of {@code s} where it can still be stopped (a live or cold
     * move's source aborts it); nothing where the host stops on its own.
     */
    void stop(Server s);

    /**
     * Gives back what the move {@code requestId} of {@code s} holds (the target's claim, a pending
     * size) and records {@code why} it failed on its migration record. The server's task state is
     * not the task's: the runner or the host's event sets it.
     */
    void rollback(Server s, String requestId, Server.Fault why);

    /** For logs: what the move is ("live migration") and where the guest stays when it fails. */
    String describe();

    /** What an event meant for a move. */
    sealed interface Progress permits Progress.Arrived, Progress.Failed, Progress.Pending {
        /** The guest is on its target now; {@code now} is the server as it is after that. */
        record Arrived(Server now) implements Progress {
        }

        /** The move failed where it was; the guest stays on its source. */
        record Failed(Server.Fault why) implements Progress {
        }

        /** Nothing this move waits for. */
        record Pending() implements Progress {
        }

        Progress PENDING = new Pending();
    }
}
