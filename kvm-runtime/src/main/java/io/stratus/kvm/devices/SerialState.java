package io.stratus.kvm.devices;

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
}
