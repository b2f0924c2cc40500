package io.stratus.kvm.virtio.block;

import com.sun.jna.Pointer;
import io.stratus.kvm.nbd.NbdClient;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;

/**
 * A disk whose data is an NBD export, through {@link NbdClient}: a volume served by qemu-nbd,
 * nbdkit, rbd-nbd or the volume service. Guest buffers go to the socket as direct buffers over
 * guest RAM, without a copy. A lost connection fails this and every later request at once (the
 * client's own rule), so the guest gets I/O errors, never a hang longer than the client's timeout.
 */
public final class NbdDisk implements BlockBackend {
    private static final int ZERO_CHUNK = 64 << 10;

    private final NbdVolume volume;
    private final NbdClient client;
    private final long capacity;
    private final boolean readOnly;

    private NbdDisk(NbdVolume volume, NbdClient client) {
        this.volume = volume;
        this.client = client;
        this.capacity = client.size() - client.size() % DiskImage.SECTOR_SIZE;
        this.readOnly = volume.readOnly() || client.readOnly();
    }

    /**
     * Connects to the volume's export.
     *
     * @param timeout the longest wait for the server at any step of the handshake and of every request
     * @throws IOException the server cannot be reached or refuses the export
     */
    public static NbdDisk open(NbdVolume volume, Duration timeout) throws IOException {
        NbdClient client = NbdClient.connect(volume.address(), volume.export(), volume.readOnly(), timeout);
        if (client.size() < DiskImage.SECTOR_SIZE) {
            client.close();
            throw new IOException(volume + " is smaller than one 512-byte sector");
        }
        return new NbdDisk(volume, client);
    }

    public NbdVolume volume() {
        return volume;
    }

    @Override
    public long capacity() {
        return capacity;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public String describe() {
        return volume.toString();
    }

    @Override
    public void read(long[] addresses, long[] lengths, int count, long position) throws IOException {
        long at = position;
        for (int i = 0; i < count; i++) {
            client.read(at, hostBuffer(addresses[i], lengths[i]));
            at += lengths[i];
        }
    }

    @Override
    public void write(long[] addresses, long[] lengths, int count, long position) throws IOException {
        if (readOnly) {
            throw new IOException(volume + " is attached read-only");
        }
        long at = position;
        for (int i = 0; i < count; i++) {
            client.write(at, hostBuffer(addresses[i], lengths[i]));
            at += lengths[i];
        }
    }

    /** A buffer over guest RAM the device already checked: one descriptor, so less than 4 GiB. */
    private static ByteBuffer hostBuffer(long address, long length) {
        return new Pointer(address).getByteBuffer(0, length);
    }

    @Override
    public void flush() throws IOException {
        client.flush();
    }

    /**
     * Writes zeros: the client speaks neither NBD_CMD_TRIM nor NBD_CMD_WRITE_ZEROES, so a slot
     * does not offer discard or write-zeroes, and this serves only callers of the interface.
     */
    @Override
    public void zero(long position, long length) throws IOException {
        if (readOnly) {
            throw new IOException(volume + " is attached read-only");
        }
        ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(length, ZERO_CHUNK));
        long done = 0;
        while (done < length) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), length - done));
            client.write(position + done, zeros);
            done += zeros.limit();
        }
    }

    @Override
    public void close() {
        client.close();
    }
}
