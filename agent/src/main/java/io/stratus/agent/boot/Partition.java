package io.stratus.agent.boot;

import java.util.Optional;

/**
 * One partition of a disk, or the whole disk when it has no partition table (number 0).
 *
 * @param offset      where it starts on the disk, in bytes
 * @param size        its length in bytes
 * @param type        what its table entry says it holds, in words ("Linux filesystem", "EFI system")
 * @param notSearched why no boot is looked for on it (firmware's own partitions, an extended
 *                    partition's container), or empty
 */
record Partition(int number, long offset, long size, String type, Optional<String> notSearched) {
    Partition(int number, long offset, long size, String type) {
        this(number, offset, size, type, Optional.empty());
    }

    /** How messages name it. */
    String describe() {
        return number == 0 ? "the disk (no partition table)" : "partition " + number;
    }
}
