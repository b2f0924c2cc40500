package io.stratus.kvm.devices;

import io.stratus.kvm.persist.StateReader;
import io.stratus.kvm.persist.StateWriter;

/** A {@link Serial8250}'s registers and the input it has not delivered yet, for snapshots. */
public record SerialState(int ier, int lcr, int mcr, int scr, int dll, int dlm, boolean fifoEnabled,
                          boolean thrInterruptPending, byte[] pendingInput) {
    public SerialState {
        pendingInput = pendingInput.clone();
    }

    @Override
    public byte[] pendingInput() {
        return pendingInput.clone();
    }

    /** Six registers as four-byte numbers, the two flags, the pending input. */
    public void writeTo(StateWriter out) {
        for (int v : new int[] {ier, lcr, mcr, scr, dll, dlm}) {
            out.writeInt(v);
        }
        out.writeBoolean(fifoEnabled);
        out.writeBoolean(thrInterruptPending);
        out.writeBlob(pendingInput);
    }

    public static SerialState readFrom(StateReader in) {
        return new SerialState(in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(),
                in.readBoolean(), in.readBoolean(), in.readBlob());
    }
}
