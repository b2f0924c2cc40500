package io.stratus.agent.virt.kvm;

import io.stratus.agent.virt.IncomingGuest;
import io.stratus.agent.virt.MigrationPipe;
import io.stratus.agent.virt.VirtualGuest;
import io.stratus.kvm.migration.MigrationResult;
import io.stratus.kvm.migration.MigrationTarget;
import io.stratus.kvm.virtio.rng.EntropyRate;
import io.stratus.kvm.vm.VirtualMachine;
import java.util.Optional;
import org.jboss.logging.Logger;

/** A VM of this JVM's VMM, built and not started, that kvm-runtime's migration stream fills. */
public final class KvmIncoming implements IncomingGuest {
    private static final Logger LOG = Logger.getLogger(KvmIncoming.class);

    private final String instanceId;
    private final VirtualMachine vm;
    private final Optional<EntropyRate> entropyRate;
    private boolean ended;

    KvmIncoming(String instanceId, VirtualMachine vm, Optional<EntropyRate> entropyRate) {
        this.instanceId = instanceId;
        this.vm = vm;
        this.entropyRate = entropyRate;
    }

    /** The VM itself, not started: what the stream fills. */
    public VirtualMachine vm() {
        return vm;
    }

    @Override
    public VirtualGuest receive(MigrationPipe pipe) {
        MigrationResult r;
        try {
            r = MigrationTarget.receive(vm, pipe);
        } catch (RuntimeException e) {
            discard();
            throw e;
        }
        LOG.infof("instance %s: the migration stream arrived: %s", instanceId, r);
        ended = true;
        // The rate is this host's policy: the source's did not come with the guest.
        vm.entropy().ifPresent(rng -> rng.limit(entropyRate));
        return new KvmGuest(vm);
    }

    @Override
    public synchronized void discard() {
        if (ended) {
            return;
        }
        ended = true;
        try {
            vm.stop();
        } catch (RuntimeException e) {
            LOG.debugf("instance %s: stopping the incoming VM: %s", instanceId, e.getMessage());
        }
        vm.close();
    }
}
