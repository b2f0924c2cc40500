package io.stratus.agent.it;

import io.stratus.kvm.testing.RequiresKvm;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@link VolumesIT} on the kvm driver: the guest's disk is one of kvm-runtime's volume slots,
 * filled through its NBD client (a config-change interrupt tells the guest's virtio_blk of the new
 * capacity), emptied after a flush; the server killed while the guest writes is an I/O error in
 * the guest, and the detach goes through once the server is back. Skipped without /dev/kvm.
 */
@RequiresKvm
class KvmVolumesIT extends VolumesIT {
    @Override
    void assumeDriverPresent() {
        // @RequiresKvm has said so already.
    }

    @Override
    Map<String, String> driverSettings(Path dir) {
        return Map.of("stratus.agent.driver", "kvm", "stratus.agent.kvm-device",
                System.getProperty("stratus.kvm.device", "/dev/kvm"));
    }
}
