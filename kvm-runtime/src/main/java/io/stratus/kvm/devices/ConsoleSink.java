package io.stratus.kvm.devices;

/** Where a guest's serial console output goes. Called from vCPU threads; must not block for long. */
@FunctionalInterface
public interface ConsoleSink {
    void write(byte[] bytes, int offset, int length);

    /** A sink that drops everything. */
    static ConsoleSink discard() {
        return (bytes, offset, length) -> { };
    }
}
