package io.stratus.agent.command;

import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.store.AgentStore;
import io.stratus.agent.virt.DriverCapabilities;
import io.stratus.proto.v1.Fault;
import io.stratus.proto.v1.Resources;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What this host admits: sizes its driver can run, within what the host has left. Commands of
 * different instances run side by side, so a check and the record that takes the room are made
 * under one lock ({@link #admit}): two boots never both fit into the last free room.
 */
final class Admission {
    private final String host;
    private final AgentStore store;
    private final Resources capacity;
    private final Supplier<DriverCapabilities> driver;
    private final Object lock = new Object();

    Admission(String host, AgentStore store, Resources capacity, Supplier<DriverCapabilities> driver) {
        this.host = host;
        this.store = store;
        this.capacity = capacity;
        this.driver = driver;
    }

    /** Runs {@code decide} (a check with {@link #unfit} and the record that takes the room) alone. */
    <T> T admit(Supplier<T> decide) {
        synchronized (lock) {
            return decide.get();
        }
    }

    /**
     * Why {@code wanted} cannot run here: sizes the driver refuses ({@code InvalidResources}), or
     * more than the host has free ({@code InsufficientResources}); the instance {@code replacing}
     * gives its share back.
     */
    Optional<Fault> unfit(Resources wanted, Optional<String> replacing) {
        Optional<String> invalid = invalid(wanted, driver.get());
        if (invalid.isPresent()) {
            return Optional.of(Faults.of("InvalidResources", invalid.get()));
        }
        return shortfall(wanted, replacing).map(m -> Faults.of("InsufficientResources", m));
    }

    private static Optional<String> invalid(Resources r, DriverCapabilities driver) {
        if (driver.unusable().isPresent()) {
            // Said by the boot itself (HypervisorUnavailable): sizes mean nothing on a host that runs nothing.
            return Optional.empty();
        }
        if (r.getVcpus() < 1 || r.getVcpus() > driver.maxVcpus()) {
            return Optional.of("a guest has 1 to " + driver.maxVcpus() + " vCPUs, not " + r.getVcpus());
        }
        if (r.getMemoryMib() < driver.minMemoryMiB()) {
            return Optional.of("a guest needs at least " + driver.minMemoryMiB() + " MiB of memory, not "
                    + r.getMemoryMib());
        }
        return Optional.empty();
    }

    private Optional<String> shortfall(Resources wanted, Optional<String> replacing) {
        long vcpus = 0;
        long memory = 0;
        long disk = 0;
        for (InstanceRecord r : store.all()) {
            if (!r.holdsResources() || replacing.equals(Optional.of(r.id()))) {
                continue;
            }
            Resources held = largest(r.resources(), r.previousResources().orElse(r.resources()));
            vcpus += held.getVcpus();
            memory += held.getMemoryMib();
            disk += held.getDiskGib();
        }
        if (vcpus + wanted.getVcpus() > capacity.getVcpus()) {
            return Optional.of("host " + host + " has " + (capacity.getVcpus() - vcpus) + " of " + capacity.getVcpus()
                    + " vCPUs free, the guest needs " + wanted.getVcpus());
        }
        if (memory + wanted.getMemoryMib() > capacity.getMemoryMib()) {
            return Optional.of("host " + host + " has " + (capacity.getMemoryMib() - memory) + " of "
                    + capacity.getMemoryMib() + " MiB free, the guest needs " + wanted.getMemoryMib());
        }
        if (capacity.getDiskGib() > 0 && disk + wanted.getDiskGib() > capacity.getDiskGib()) {
            return Optional.of("host " + host + " has " + (capacity.getDiskGib() - disk) + " of "
                    + capacity.getDiskGib() + " GiB of disk free, the guest needs " + wanted.getDiskGib());
        }
        return Optional.empty();
    }

    private static Resources largest(Resources a, Resources b) {
        return Resources.newBuilder().setVcpus(Math.max(a.getVcpus(), b.getVcpus()))
                .setMemoryMib(Math.max(a.getMemoryMib(), b.getMemoryMib()))
                .setDiskGib(Math.max(a.getDiskGib(), b.getDiskGib())).build();
    }
}
