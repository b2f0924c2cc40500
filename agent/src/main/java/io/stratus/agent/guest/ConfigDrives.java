package io.stratus.agent.guest;

import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.virt.GuestSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Guests' config drives (Nova's {@code config_drive}): a read-only ISO 9660 volume labelled
 * {@code config-2} holding the instance's metadata, made on the host where the guest first boots
 * and again wherever it is missing (the target of a move).
 */
public interface ConfigDrives {
    /** The drive's file in the instance's directory. */
    String FILE = "config.iso";

    /**
     * The instance's drive, made now if its Boot asks for one and {@code instanceDir} has none;
     * empty when it asks for none.
     *
     * @throws ConfigDriveException the drive cannot be made (nothing half-made is left)
     */
    Optional<GuestSpec.Disk> drive(InstanceRecord rec, Path instanceDir);

    /** The drive as the guest gets it: raw, read-only. */
    static GuestSpec.Disk disk(Path instanceDir) {
        return new GuestSpec.Disk(instanceDir.resolve(FILE), GuestSpec.Format.RAW, true);
    }

    /** A host that makes no drives ({@code reason}: why); one made before is still used. */
    static ConfigDrives unavailable(String reason) {
        return (rec, instanceDir) -> {
            if (!rec.boot().getConfigDrive()) {
                return Optional.empty();
            }
            if (Files.exists(instanceDir.resolve(FILE))) {
                return Optional.of(disk(instanceDir));
            }
            throw new ConfigDriveException("instance " + rec.id() + " asks for a config drive, but " + reason);
        };
    }
}
