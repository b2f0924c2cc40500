package io.stratus.scheduler.conductor;

import io.stratus.scheduler.selection.Hypervisor;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * How a move carries a guest from its host to another, and the trait both hosts' hypervisor
 * drivers need for it: the source to send, the target to receive.
 */
enum Transfer {
    LIVE(Hypervisor.LIVE_MIGRATION, "a live migration"),
    /** A running guest with volumes: the target opens the same exports, the stream leaves them alone. */
    LIVE_WITH_VOLUMES(Hypervisor.LIVE_MIGRATION_VOLUMES, "a live migration of a guest with volumes"),
    COLD(Hypervisor.COLD_MIGRATION, "a cold migration's disk copy");

    final String trait;
    /** What the target receives, for messages. */
    final String what;

    /**
     * The traits that say which stream a running guest travels in: each driver's own (the in-JVM
     * VMM's, QEMU's), and QEMU's differs again between emulated and /dev/kvm guests (CPU models).
     */
    private static final Set<String> STREAM_TRAITS = Set.of(Hypervisor.DRIVER_KVM, Hypervisor.DRIVER_QEMU,
            Hypervisor.ACCEL_TCG);

    Transfer(String trait, String what) {
        this.trait = trait;
        this.what = what;
    }

    /** Whether the guest moves running, in its driver's own stream. */
    boolean live() {
        return this != COLD;
    }

    /** The traits each end's driver needs for its own part. */
    private Set<String> own() {
        return this == LIVE_WITH_VOLUMES ? Set.of(Hypervisor.LIVE_MIGRATION, trait) : Set.of(trait);
    }

    /**
     * Why {@code host} cannot do its end of this transfer (send it when {@code sending}, else
     * receive it); empty when its driver can.
     *
     * @param driver the host's driver as reported; empty when the host has not reported yet
     */
    Optional<String> refusal(String host, Optional<Hypervisor> driver, boolean sending) {
        Optional<String> lacking = own().stream().filter(t -> !driver.map(d -> d.has(t)).orElse(false)).sorted()
                .findFirst();
        if (lacking.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of("compute host " + host + "'s hypervisor (" + driver.map(Hypervisor::describe)
                .orElse("not reported yet") + ") cannot " + (sending ? "send " : "receive ") + what + ": it lacks the"
                + " trait " + lacking.get());
    }

    /** What the target's driver must have to take the guest from {@code source}'s driver: the trait, and the same stream. */
    Set<String> required(Hypervisor source) {
        Set<String> r = new HashSet<>(own());
        if (live()) {
            source.traits().stream().filter(STREAM_TRAITS::contains).forEach(r::add);
        }
        return r;
    }

    /** What the target's driver must not have to take the guest from {@code source}'s driver. */
    Set<String> forbidden(Hypervisor source) {
        if (!live()) {
            return Set.of();
        }
        Set<String> f = new HashSet<>(STREAM_TRAITS);
        f.removeAll(source.traits());
        return f;
    }

    /**
     * Why {@code host}'s driver cannot take the guest from {@code source}'s (a live guest moves
     * only between hosts of the same driver); empty when it can.
     */
    Optional<String> mismatch(String host, Hypervisor driver, String source, Hypervisor sourceDriver) {
        if (driver.traits().containsAll(required(sourceDriver))
                && forbidden(sourceDriver).stream().noneMatch(driver::has)) {
            return Optional.empty();
        }
        return Optional.of("compute host " + host + "'s hypervisor (" + driver.describe() + ") cannot receive "
                + what + " from host " + source + "'s (" + sourceDriver.describe() + "): a running guest moves only"
                + " between hosts of the same driver");
    }
}
