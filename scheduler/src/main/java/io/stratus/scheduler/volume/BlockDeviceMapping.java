package io.stratus.scheduler.volume;

import java.util.Optional;

/**
 * One volume a server asks for at create (an entry of Nova's {@code block_device_mapping_v2}
 * whose destination is a volume), its form already checked: an existing volume, or one to make
 * from an image or a snapshot.
 *
 * @param uuid         the volume, image or snapshot, by {@code source}
 * @param bootIndex    0 for the server's root disk; -1 for a volume that is only attached
 * @param volumeSizeGb the size of a volume to make; empty takes the source's
 * @param deviceName   the device the request names (Nova's {@code device_name}), if any
 * @param volumeType   the type of a volume to make, if the request names one
 */
public record BlockDeviceMapping(Source source, String uuid, int bootIndex, Optional<Integer> volumeSizeGb,
                                 boolean deleteOnTermination, Optional<String> deviceName,
                                 Optional<String> volumeType) {
    /** Where the volume comes from (Nova's {@code source_type}). */
    public enum Source { VOLUME, IMAGE, SNAPSHOT }

    public boolean root() {
        return bootIndex == 0;
    }
}
