package io.stratus.agent.virt.kvm;

import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.IncomingGuest;
import io.stratus.agent.virt.MigrationPipe;
import io.stratus.agent.virt.VirtualGuest;
import io.stratus.kvm.migration.MigrationResult;
import io.stratus.kvm.migration.MigrationTarget;
import io.stratus.kvm.virtio.rng.EntropyRate;
import io.stratus.kvm.vm.VirtualMachine;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/** A VM of this JVM's VMM, built and not started, that kvm-runtime's migration stream fills. */
public final class KvmIncoming implements IncomingGuest {
    private static final Logger LOG = Logger.getLogger(KvmIncoming.class);

    private final String instanceId;
    private final VirtualMachine vm;
    /** The volume each slot must hold once the stream restored it (the source's layout). */
    private final List<Optional<GuestSpec.Volume>> slots;
    private final Optional<EntropyRate> entropyRate;
    private boolean ended;

    KvmIncoming(String instanceId, VirtualMachine vm, List<Optional<GuestSpec.Volume>> slots,
                Optional<EntropyRate> entropyRate) {
        this.instanceId = instanceId;
        this.vm = vm;
        this.slots = List.copyOf(slots);
        this.entropyRate = entropyRate;
    }

    /** The VM itself, not started: what the stream fills. */
    public VirtualMachine vm() {
        return vm;
    }

    @Override
    public VirtualGuest receive(MigrationPipe pipe) {
        MigrationResult r;
        AtomicReference<KvmVolumes> volumes = new AtomicReference<>();
        try {
            // Checked before the guest is acknowledged: a slot holding another volume than the
            // source said is refused, and the guest runs on at the source.
            r = MigrationTarget.receive(vm, pipe, restored -> volumes.set(KvmVolumes.adopt(restored, instanceId,
                    slots)));
        } catch (RuntimeException e) {
            discard();
            throw e;
        }
        LOG.infof("instance %s: the migration stream arrived: %s", instanceId, r);
        ended = true;
        // The rate is this host's policy: the source's did not come with the guest.
        vm.entropy().ifPresent(rng -> rng.limit(entropyRate));
        return new KvmGuest(vm, volumes.get());
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
