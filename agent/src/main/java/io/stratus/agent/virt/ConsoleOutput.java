package io.stratus.agent.virt;

/** Where a guest's serial console output goes; called from the driver's threads, must not block long. */
@FunctionalInterface
public interface ConsoleOutput {
    void write(byte[] bytes, int offset, int length);
}
