package io.stratus.agent.virt;

/**
 * A guest built on a live migration's target, not running, that the source's stream is to fill
 * (Nova's {@code pre_live_migration} made it). Exactly one of {@link #receive} and
 * {@link #discard} ends it.
 */
public interface IncomingGuest {
    /**
     * Takes the guest in from {@code pipe} (blocking) and lets it run here (Nova's
     * {@code post_live_migration_at_destination}). On failure the incoming guest is gone, as
     * after {@link #discard}.
     *
     * @return the guest, running here
     * @throws HypervisorException the stream was refused, broke, or the guest cannot run here
     */
    VirtualGuest receive(MigrationPipe pipe);

    /**
     * Drops what was built for the migration (Nova's {@code rollback_live_migration_at_destination});
     * a second call does nothing.
     */
    void discard();
}
