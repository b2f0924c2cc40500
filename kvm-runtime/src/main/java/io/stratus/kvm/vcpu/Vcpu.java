package io.stratus.kvm.vcpu;

import io.stratus.kvm.VmmException;
import io.stratus.kvm.cpu.HostProfile;
import io.stratus.kvm.devices.Bus;
import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.sys.KvmException;
import io.stratus.kvm.sys.Regs;
import io.stratus.kvm.sys.SpecialRegisters;
import io.stratus.kvm.sys.VcpuExit;
import io.stratus.kvm.sys.VcpuFd;
import io.stratus.kvm.sys.VcpuKick;
import java.lang.System.Logger.Level;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One vCPU and the platform thread that runs it: {@code KVM_RUN} in a loop, port and MMIO exits
 * dispatched to the buses, everything else reported to the {@link VcpuListener}. The thread only
 * runs and exits; decisions about the VM belong to its owner.
 */
public final class Vcpu {
    private static final System.Logger LOG = System.getLogger(Vcpu.class.getName());
    private static final int MAX_LOGGED_UNKNOWN = 64;
    private static final int MP_STATE_UNINITIALIZED = 1;
    private static final int MP_STATE_INIT_RECEIVED = 2;
    private static final int MP_STATE_HALTED = 3;
    private static final long RFLAGS_IF = 1 << 9;
    private static final long EFER_LMA = 1 << 10;
    private static final long CR0_PG = 1L << 31;
    private static final int INT3 = 0xcc;
    private static final int BREAKPOINT_VECTOR = 3;

    private final VcpuFd fd;
    private final Bus pio;
    private final Bus mmio;
    private final GuestMemory memory;
    private final VcpuListener listener;
    private final HostProfile host;
    private final String vmName;
    private final PauseGate gate;
    private final Set<Long> unknownAccesses = ConcurrentHashMap.newKeySet();
    private volatile VcpuKick kick;
    private volatile Thread thread;
    private volatile boolean haltProbe;
    /** CPU time of the thread when it ended; -1 while it runs. */
    private volatile long finalCpuNanos = -1;
    private long breakpointsReflected;

    public Vcpu(VcpuFd fd, Bus pio, Bus mmio, GuestMemory memory, VcpuListener listener, HostProfile host,
                String vmName, PauseGate gate) {
        this.gate = gate;
        this.fd = fd;
        this.pio = pio;
        this.mmio = mmio;
        this.memory = memory;
        this.listener = listener;
        this.host = host;
        this.vmName = vmName;
    }

    public int id() {
        return fd.id();
    }

    /** The vCPU's file descriptor, for reading and writing its state while it waits at the gate. */
    public VcpuFd fd() {
        return fd;
    }

    /** Starts the vCPU thread. */
    public synchronized void start() {
        if (thread != null) {
            throw new IllegalStateException("vCPU " + id() + " already started");
        }
        Thread t = new Thread(this::runLoop, vmName + "-vcpu-" + id());
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    /** Makes the vCPU leave the guest so that it notices {@link VcpuListener#running()} changed. */
    public void kick() {
        VcpuKick k = kick;
        if (k != null) {
            k.kick();
        }
    }

    /**
     * Asks the vCPU thread to report, through {@link VcpuListener#haltProbed}, whether the guest
     * left it halted for good. With an in-kernel local APIC, HLT never reaches the VMM, so this is
     * how a guest that halts all its CPUs (Linux's halt without ACPI power-off) is noticed.
     */
    public void probeHalted() {
        haltProbe = true;
        kick();
    }

    /**
     * CPU time the vCPU thread has used so far, guest time included (KVM_RUN runs the guest on
     * this thread); 0 before it starts, frozen once it ends.
     */
    public long cpuTimeNanos() {
        long done = finalCpuNanos;
        if (done >= 0) {
            return done;
        }
        Thread t = thread;
        if (t == null) {
            return 0;
        }
        long now = ManagementFactory.getThreadMXBean().getThreadCpuTime(t.getId());
        // -1 once the thread died between the two reads: its final figure is recorded by then.
        return now >= 0 ? now : Math.max(0, finalCpuNanos);
    }

    /** Waits for the vCPU thread to end; returns false on timeout. */
    public boolean join(long timeout, TimeUnit unit) throws InterruptedException {
        Thread t = thread;
        if (t == null) {
            return true;
        }
        t.join(Math.max(1, unit.toMillis(timeout)));
        return !t.isAlive();
    }

    private void runLoop() {
        try {
            kick = VcpuKick.prepareCurrentThread(fd);
            // Reading running() after publishing `kick` pairs with stop(): either the stopper sees the
            // kick handle, or this thread sees the stop.
            while (listener.running()) {
                gate.pass();
                if (!listener.running()) {
                    break;
                }
                VcpuExit exit = fd.run();
                if (!handle(exit)) {
                    return;
                }
            }
        } catch (VmmException e) {
            listener.failed(id(), e);
        } catch (InterruptedException e) {
            listener.failed(id(), new VmmException("vCPU " + id() + " of " + vmName + " was interrupted"));
        } catch (RuntimeException | Error e) {
            listener.failed(id(), new VmmException("vCPU " + id() + " of " + vmName + " crashed: " + e, e));
        } finally {
            finalCpuNanos = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
            if (listener.running()) {
                // Every way out of the loop above reports why; a silent end would leave the guest waiting
                // forever for this vCPU.
                listener.failed(id(), new VmmException("vCPU " + id() + " of " + vmName + " stopped unexpectedly"));
            }
            VcpuKick k = kick;
            if (k != null) {
                k.retire();
            }
        }
    }

    /** Handles one exit; returns false when this vCPU must stop. */
    private boolean handle(VcpuExit exit) {
        if (exit instanceof VcpuExit.IoOut out) {
            for (int i = 0; i < out.count(); i++) {
                ByteBuffer value = out.count() == 1 ? out.data() : slice(out.data(), i * out.size(), out.size());
                if (!pio.write(out.port(), value)) {
                    logUnknown("port write", out.port());
                }
            }
            return true;
        }
        if (exit instanceof VcpuExit.IoIn in) {
            for (int i = 0; i < in.count(); i++) {
                ByteBuffer value = in.count() == 1 ? in.data() : slice(in.data(), i * in.size(), in.size());
                if (!pio.read(in.port(), value)) {
                    floatHigh(value);
                    logUnknown("port read", in.port());
                }
            }
            return true;
        }
        if (exit instanceof VcpuExit.MmioWrite w) {
            if (!mmio.write(w.address(), w.data())) {
                logUnknown("MMIO write", w.address());
            }
            return true;
        }
        if (exit instanceof VcpuExit.MmioRead r) {
            if (!mmio.read(r.address(), r.data())) {
                floatHigh(r.data());
                logUnknown("MMIO read", r.address());
            }
            return true;
        }
        if (exit instanceof VcpuExit.Interrupted) {
            kick.consume();
            if (haltProbe) {
                haltProbe = false;
                listener.haltProbed(id(), isStuck());
            }
            return true;
        }
        if (exit instanceof VcpuExit.Shutdown) {
            listener.tripleFault(id());
            return false;
        }
        if (exit instanceof VcpuExit.SystemEvent event) {
            listener.systemEvent(id(), event.type());
            return false;
        }
        if (exit instanceof VcpuExit.InternalError error) {
            if (error.suberror() == VcpuExit.InternalError.EMULATION && host.emulatesGuestKernel()
                    && reflectBreakpoint()) {
                return true;
            }
            listener.failed(id(), describeInternalError(error));
            return false;
        }
        if (exit instanceof VcpuExit.FailEntry fail) {
            listener.failed(id(), new KvmException("vCPU " + id() + ": the CPU refused to enter the guest"
                    + " (hardware entry failure reason 0x" + Long.toHexString(fail.hardwareReason()) + ")"));
            return false;
        }
        if (exit instanceof VcpuExit.Hlt) {
            listener.failed(id(), new KvmException("vCPU " + id() + " halted with no in-kernel local APIC"));
            return false;
        }
        VcpuExit.Other other = (VcpuExit.Other) exit;
        listener.failed(id(), new KvmException("vCPU " + id() + ": unhandled KVM exit reason " + other.reason()));
        return false;
    }

    /**
     * On hosts whose KVM emulates guest kernel code, its emulator cannot run INT3 outside real
     * mode; yet INT3 has one meaning, a #BP trap, that KVM can deliver. So the VMM steps over the
     * instruction and injects #BP, which the guest handles as on hardware (Linux's
     * int3_selftest(), kprobes, jump-label patching all use it).
     */
    private boolean reflectBreakpoint() {
        Regs regs = fd.getRegs();
        OptionalLong physical = physicalAddressOfRip(regs.rip(), fd.getSregs());
        if (physical.isEmpty() || !memory.isValidRange(GuestAddress.of(physical.getAsLong()), 1)
                || (memory.readByte(GuestAddress.of(physical.getAsLong())) & 0xff) != INT3) {
            return false;
        }
        fd.setRegs(regs.withRip(regs.rip() + 1));
        fd.injectException(BREAKPOINT_VECTOR);
        breakpointsReflected++;
        if (breakpointsReflected == 1) {
            LOG.log(Level.DEBUG, "{0}: vCPU {1}: INT3 at 0x{2} delivered as #BP (KVM's emulator cannot run it)",
                    vmName, id(), Long.toHexString(regs.rip()));
        }
        return true;
    }

    private OptionalLong physicalAddressOfRip(long rip, SpecialRegisters sregs) {
        long linear = (sregs.efer() & EFER_LMA) != 0 ? rip : sregs.cs().base() + (rip & 0xffffffffL);
        return (sregs.cr0() & CR0_PG) != 0 ? fd.translate(linear) : OptionalLong.of(linear);
    }

    private boolean isStuck() {
        int state = fd.getMpState();
        if (state == MP_STATE_UNINITIALIZED || state == MP_STATE_INIT_RECEIVED) {
            return true;
        }
        return state == MP_STATE_HALTED && (fd.getRegs().rflags() & RFLAGS_IF) == 0;
    }

    private VmmException describeInternalError(VcpuExit.InternalError error) {
        long rip = -1;
        byte[] code = new byte[0];
        try {
            rip = fd.getRegs().rip();
            OptionalLong physical = physicalAddressOfRip(rip, fd.getSregs());
            if (physical.isPresent()) {
                code = readCode(physical.getAsLong());
            }
        } catch (RuntimeException e) {
            // Diagnostics only: report what was read.
        }
        StringBuilder bytes = new StringBuilder();
        for (byte b : code) {
            bytes.append(bytes.length() == 0 ? "" : " ").append(String.format("%02x", b & 0xff));
        }
        String what = error.suberror() == VcpuExit.InternalError.EMULATION
                ? "KVM could not emulate the guest instruction"
                : "KVM stopped the guest with internal error " + error.suberror();
        String message = String.format("vCPU %d: %s at RIP 0x%x (code bytes: %s)", id(), what, rip,
                bytes.length() == 0 ? "unreadable" : bytes);
        if (host.emulatesGuestKernel() && error.suberror() == VcpuExit.InternalError.EMULATION) {
            message += "; this host's KVM (kvm_pvm) runs guest kernel code in its instruction emulator,"
                    + " which cannot run every instruction: boot a kernel built for such hosts (bin/stratus kit)";
        }
        return new GuestEmulationException(message, rip, code);
    }

    private byte[] readCode(long physical) {
        for (int length = 15; length > 0; length--) {
            GuestAddress at = GuestAddress.of(physical);
            if (memory.isValidRange(at, length)) {
                byte[] out = new byte[length];
                memory.read(at, out);
                return out;
            }
        }
        return new byte[0];
    }

    private void logUnknown(String what, long address) {
        // Guests probe absent devices constantly; keep the miss path free of work unless someone listens.
        if (!LOG.isLoggable(Level.DEBUG)) {
            return;
        }
        if (unknownAccesses.size() < MAX_LOGGED_UNKNOWN && unknownAccesses.add(address)) {
            LOG.log(Level.DEBUG, "{0}: vCPU {1}: {2} at 0x{3} has no device", vmName, id(), what,
                    Long.toHexString(address));
        }
    }

    private static ByteBuffer slice(ByteBuffer data, int offset, int length) {
        return data.duplicate().position(offset).limit(offset + length).slice().order(data.order());
    }

    private static void floatHigh(ByteBuffer data) {
        int p = data.position();
        for (int i = 0; i < data.remaining(); i++) {
            data.put(p + i, (byte) 0xff);
        }
    }
}
