package io.stratus.kvm.sys;

import com.sun.jna.LastErrorException;
import java.nio.file.Path;

/**
 * Moves the calling thread into a network namespace ({@code setns}), so that the TAP devices
 * and sockets it creates live there. Only that thread moves; the rest of the process stays.
 */
public final class NetworkNamespace {
    private static final int CLONE_NEWNET = 0x40000000;

    private NetworkNamespace() {
    }

    /** Enters the namespace {@code ip netns add NAME} made ({@code /run/netns/NAME}). */
    public static void enter(String name) {
        enter(Path.of("/run/netns", name));
    }

    /** Enters the namespace behind {@code nsFile} (a /run/netns entry or /proc/PID/ns/net). */
    public static void enter(Path nsFile) {
        int fd;
        try {
            fd = LibC.open(nsFile.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new KvmException("cannot open network namespace " + nsFile + ": " + Errno.describe(e.getErrorCode()));
        }
        try {
            LibC.setns(fd, CLONE_NEWNET);
        } catch (LastErrorException e) {
            throw new KvmException("cannot enter network namespace " + nsFile + ": " + Errno.describe(e.getErrorCode()));
        } finally {
            try {
                LibC.close(fd);
            } catch (LastErrorException ignored) {
                // The namespace reference is held by the thread now.
            }
        }
    }
}
