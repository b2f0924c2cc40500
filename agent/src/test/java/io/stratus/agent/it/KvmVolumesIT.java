package io.stratus.agent.it;

import io.stratus.kvm.testing.RequiresKvm;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@link VolumesIT} on the kvm driver: the guest's disk is one of kvm-runtime's volume slots,
 * filled through its NBD client (a config-change interrupt tells the guest's virtio_blk of the new
 * capacity and of the volume's serial), emptied after a flush; the server killed while the guest
 * writes is an I/O error in the guest, and the detach goes through once the server is back.
 * Skipped without /dev/kvm.
 */
@RequiresKvm
class KvmVolumesIT extends VolumesIT {
    @Override
    void assumeDriverPresent() {
        // @RequiresKvm has said so already.
    }

    /** The slot serves the volume id's first 20 bytes as its serial (virtio-blk's GET_ID), as Nova's volumes appear. */
    @Override
    String hotAttachedSerial() {
        return VOLUME.substring(0, 20);
    }

    @Override
    Map<String, String> driverSettings(Path dir) {
        return Map.of("stratus.agent.driver", "kvm", "stratus.agent.kvm-device",
                System.getProperty("stratus.kvm.device", "/dev/kvm"));
    }
}
