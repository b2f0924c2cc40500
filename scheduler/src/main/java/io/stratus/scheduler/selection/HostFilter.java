package io.stratus.scheduler.selection;

/** Passes or rejects a host for a request; the scheduler keeps the hosts every filter passes. */
public interface HostFilter {
    boolean passes(HostState host, RequestSpec request);

    /** Short name for logs and "No valid host" messages. */
    String name();
}
