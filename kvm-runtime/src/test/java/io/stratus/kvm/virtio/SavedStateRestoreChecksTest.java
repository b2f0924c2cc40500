package io.stratus.kvm.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kvm.devices.Serial8250;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.snapshot.SnapshotCodec;
import io.stratus.kvm.snapshot.VmSnapshot;
import io.stratus.kvm.virtio.balloon.VirtioBalloon;
import io.stratus.kvm.virtio.rng.VirtioRng;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The checks restore gained with the state records must accept what the old VMM wrote for real
 * guests: the format-3 file the old codec wrote (wrapped ring indices, an interrupt pending,
 * balloon figures, pending console input) goes through the same restore() a snapshot or an
 * incoming migration takes, without /dev/kvm.
 */
class SavedStateRestoreChecksTest {
    private static VmSnapshot oldFile() throws IOException {
        try (InputStream in = SavedStateRestoreChecksTest.class.getResourceAsStream("/snapshot/state-v3.bin")) {
            assertThat(in).isNotNull();
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            in.transferTo(bytes);
            return SnapshotCodec.decode(bytes.toByteArray(), "state-v3.bin");
        }
    }

    @Test
    void everyQueueTheOldCodecWroteIsAccepted() throws IOException {
        for (VirtioTransportState t : oldFile().state().transports()) {
            for (VirtQueueState q : t.queues()) {
                VirtQueue.check(q);
            }
        }
    }

    @Test
    void theOldSerialStateIsAccepted() throws IOException {
        Serial8250 serial = new Serial8250((b, off, len) -> { }, () -> { });
        serial.restore(oldFile().state().serial());
        assertThat(serial.save().pendingInput()).containsExactly('l', 's', '\n');
    }

    @Test
    void theOldBalloonFiguresAreAccepted() throws IOException {
        VmSnapshot s = oldFile();
        // The fixture is the codec's, not a real balloon's transport (it lists three queues, the
        // device has four): its device state goes to the device alone.
        VirtioBalloon balloon = new VirtioBalloon("balloon", s.config().memoryBytes(), Duration.ofSeconds(5));
        balloon.restoreState(s.state().transports().get(2).deviceState());
        assertThat(balloon.saveState()).isEqualTo(s.state().transports().get(2).deviceState());
    }

    @Test
    void theOldEntropyTransportRestoresWhole() throws IOException {
        VirtioTransportState saved = oldFile().state().transports().get(4);
        // Its ring lies below 2 GiB; the guest's RAM is only reserved, not touched.
        try (GuestMemory memory = GuestMemory.x86(2L << 30, false)) {
            VirtioMmioTransport rng = new VirtioMmioTransport(new VirtioRng("rng"), memory,
                    new VirtioInterrupt(() -> { }));
            try {
                rng.restore(saved);
                VirtioTransportState again = rng.save();
                assertThat(again.status()).isEqualTo(saved.status());
                assertThat(again.interruptStatus()).isEqualTo(saved.interruptStatus());
                assertThat(again.queues()).isEqualTo(saved.queues());
            } finally {
                rng.close();
            }
        }
    }
}
