package io.stratus.kvm.migration;

import java.time.Duration;

/**
 * What a {@link DiskCopy} moved, as each end counts it.
 *
 * @param diskSize the source's disk size in bytes (what the target now holds from offset 0)
 * @param dataBytes disk bytes that travelled as data
 * @param zeroBytes disk bytes that travelled as zero ranges (no data on the wire)
 * @param streamBytes bytes this end wrote (source) or read (target) on the stream, frames included
 * @param duration from the start of the call to the target's acknowledgement (sent or received)
 */
public record DiskCopyResult(long diskSize, long dataBytes, long zeroBytes, long streamBytes, Duration duration) {
}
