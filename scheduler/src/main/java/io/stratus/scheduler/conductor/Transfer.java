package io.stratus.scheduler.conductor;

import io.stratus.scheduler.selection.Hypervisor;
import java.util.Optional;

/**
 * How a move carries a guest from its host to another, and the trait both hosts' hypervisor
 * drivers need for it: the source to send, the target to receive.
 */
enum Transfer {
    LIVE(Hypervisor.LIVE_MIGRATION, "a live migration"),
    COLD(Hypervisor.COLD_MIGRATION, "a cold migration's disk copy");

    final String trait;
    /** What the target receives, for messages. */
    final String what;

    Transfer(String trait, String what) {
        this.trait = trait;
        this.what = what;
    }

    /**
     * Why {@code host} cannot do its end of this transfer (send it when {@code sending}, else
     * receive it); empty when its driver can.
     *
     * @param driver the host's driver as reported; empty when the host has not reported yet
     */
    Optional<String> refusal(String host, Optional<Hypervisor> driver, boolean sending) {
        if (driver.map(d -> d.has(trait)).orElse(false)) {
            return Optional.empty();
        }
        return Optional.of("compute host " + host + "'s hypervisor (" + driver.map(Hypervisor::describe)
                .orElse("not reported yet") + ") cannot " + (sending ? "send " : "receive ") + what + ": it lacks the"
                + " trait " + trait);
    }
}
