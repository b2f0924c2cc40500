package io.stratus.kvm.sys;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Why {@code KVM_RUN} returned. Port and MMIO exits carry a little-endian buffer over the shared
 * {@code kvm_run} page: the bytes the guest wrote, or the room for what it reads. The buffer is
 * only valid until the next {@link VcpuFd#run()} of the same vCPU.
 */
public sealed interface VcpuExit {

    /** {@code IN}/{@code INS}: fill {@code data} with {@code count} values of {@code size} bytes. */
    record IoIn(int port, int size, int count, ByteBuffer data) implements VcpuExit {
    }

    /** {@code OUT}/{@code OUTS}: {@code data} holds {@code count} values of {@code size} bytes. */
    record IoOut(int port, int size, int count, ByteBuffer data) implements VcpuExit {
    }

    /** A guest read of unmapped guest-physical space: fill {@code data}. */
    record MmioRead(long address, ByteBuffer data) implements VcpuExit {
    }

    /** A guest write to unmapped guest-physical space. */
    record MmioWrite(long address, ByteBuffer data) implements VcpuExit {
    }

    /** The guest executed HLT and KVM does not handle it (no in-kernel local APIC). */
    record Hlt() implements VcpuExit {
    }

    /** Triple fault: the vCPU reset itself. */
    record Shutdown() implements VcpuExit {
    }

    /** A platform event such as PSCI or a reset request ({@code KVM_SYSTEM_EVENT_*}). */
    record SystemEvent(int type, long[] data) implements VcpuExit {
        public static final int SHUTDOWN = 1;
        public static final int RESET = 2;
        public static final int CRASH = 3;

        public SystemEvent {
            data = data.clone();
        }

        @Override
        public long[] data() {
            return data.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof SystemEvent s && s.type == type && Arrays.equals(s.data, data);
        }

        @Override
        public int hashCode() {
            return 31 * type + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "SystemEvent[type=" + type + ", data=" + Arrays.toString(data) + "]";
        }
    }

    /** KVM could not continue the guest, for example an instruction its emulator cannot run. */
    record InternalError(int suberror, long[] data) implements VcpuExit {
        /** {@code KVM_INTERNAL_ERROR_EMULATION}. */
        public static final int EMULATION = 1;

        public InternalError {
            data = data.clone();
        }

        @Override
        public long[] data() {
            return data.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof InternalError s && s.suberror == suberror && Arrays.equals(s.data, data);
        }

        @Override
        public int hashCode() {
            return 31 * suberror + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "InternalError[suberror=" + suberror + ", data=" + Arrays.toString(data) + "]";
        }
    }

    /** The hardware refused to enter the guest (invalid guest state). */
    record FailEntry(long hardwareReason, int cpu) implements VcpuExit {
    }

    /** {@code KVM_RUN} was interrupted by a signal (a kick from another thread). */
    record Interrupted() implements VcpuExit {
    }

    /** Any other exit reason; the VMM treats it as fatal. */
    record Other(int reason, long hardwareReason) implements VcpuExit {
    }
}
