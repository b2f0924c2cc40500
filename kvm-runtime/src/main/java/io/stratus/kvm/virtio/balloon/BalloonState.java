package io.stratus.kvm.virtio.balloon;

import io.stratus.kvm.persist.StateFormatException;
import io.stratus.kvm.persist.StateReader;
import io.stratus.kvm.persist.StateWriter;

/**
 * What a {@link VirtioBalloon} keeps across a snapshot: the target the host set and what the
 * guest last said its balloon holds, in 4 KiB pages. Its transport carries it as the device's
 * state: two four-byte numbers.
 */
public record BalloonState(int targetPages, int actualPages) {
    static final int ENCODED_SIZE = 8;

    public byte[] encode() {
        return new StateWriter().writeInt(targetPages).writeInt(actualPages).toByteArray();
    }

    /**
     * @throws StateFormatException the bytes are not eight
     */
    public static BalloonState decode(byte[] bytes) {
        if (bytes.length != ENCODED_SIZE) {
            throw new StateFormatException("a balloon's state is " + ENCODED_SIZE + " bytes, not " + bytes.length);
        }
        StateReader in = new StateReader(bytes);
        return new BalloonState(in.readInt(), in.readInt());
    }
}
