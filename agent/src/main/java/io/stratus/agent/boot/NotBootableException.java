package io.stratus.agent.boot;

/**
 * A whole-disk image has no boot this agent can find, or one it must not use: a corrupt or
 * hostile partition table, an unknown filesystem, no boot configuration, a kernel that is missing
 * or too large. The message says which, in words a tenant can act on; {@link WholeDiskBoots}
 * turns it into the boot's {@code ImageNotBootable} fault.
 */
final class NotBootableException extends RuntimeException {
    NotBootableException(String message) {
        super(message);
    }
}
