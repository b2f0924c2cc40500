package io.stratus.it;

import io.stratus.kvm.testing.RequiresKvm;

/**
 * {@link VolumesApiIT} with both hosts on the kvm driver (the in-JVM VMM): the server booted from
 * a volume has it as its first disk, served by kvm-runtime's NBD client with the volume id as its
 * serial, finds its kernel on it and writes its token to it; the second server boots from the same
 * volume and reads the token; data volumes fill its volume slots. Skipped without /dev/kvm.
 */
@RequiresKvm
class KvmVolumesApiIT extends VolumesApiIT {
    @Override
    String driver() {
        return "kvm";
    }

    @Override
    String cloudName() {
        return "volumes-kvm";
    }

    @Override
    int firstNamespace() {
        return 189;
    }

    @Override
    int firstExportPort() {
        return 42640;
    }
}
