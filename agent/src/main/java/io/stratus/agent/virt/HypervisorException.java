package io.stratus.agent.virt;

/**
 * A driver could not do what was asked. The code is the fault code the user sees
 * ({@code InvalidResources}, {@code ImageNotBootable}, {@code DiskUnusable}, {@code SnapshotUnusable},
 * {@code HypervisorUnavailable}, {@code HypervisorError}); the message says why.
 */
public class HypervisorException extends RuntimeException {
    private final String code;

    public HypervisorException(String code, String message) {
        super(message);
        this.code = code;
    }

    public HypervisorException(String code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public String code() {
        return code;
    }
}
