package io.stratus.agent.command;

import io.stratus.agent.guest.ConfigDriveException;
import io.stratus.agent.image.ImageException;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.proto.v1.Fault;
import java.io.UncheckedIOException;

/** Fault codes for what can go wrong while applying a command; the message is for the user. */
final class Faults {
    private Faults() {
    }

    static Fault of(String code, String message) {
        return Fault.newBuilder().setCode(code).setMessage(message).build();
    }

    static Fault of(RuntimeException e) {
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        return of(code(e), message);
    }

    private static String code(RuntimeException e) {
        if (e instanceof ImageException) {
            return ((ImageException) e).code();
        }
        if (e instanceof HypervisorException) {
            return ((HypervisorException) e).code();
        }
        if (e instanceof ConfigDriveException c) {
            return c.code();
        }
        if (e instanceof UncheckedIOException) {
            return "HostIOError";
        }
        return "InternalError";
    }
}
