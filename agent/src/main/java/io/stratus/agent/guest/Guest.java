package io.stratus.agent.guest;

import io.stratus.agent.virt.GuestUsage;
import io.stratus.agent.virt.VirtualGuest;

/** One run of an instance's guest: a boot, a restore, or the new size after a resize each make a new one. */
public final class Guest {
    private final String instanceId;
    private final VirtualGuest machine;
    private final ConsoleLog console;

    Guest(String instanceId, VirtualGuest machine, ConsoleLog console) {
        this.instanceId = instanceId;
        this.machine = machine;
        this.console = console;
    }

    public String instanceId() {
        return instanceId;
    }

    /** The driver's guest. */
    public VirtualGuest machine() {
        return machine;
    }

    public ConsoleLog console() {
        return console;
    }

    public boolean paused() {
        return machine.paused();
    }

    /** This run's counters since it started. */
    public GuestUsage usage() {
        return machine.usage();
    }
}
