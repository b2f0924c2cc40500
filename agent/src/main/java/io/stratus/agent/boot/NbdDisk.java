package io.stratus.agent.boot;

import io.stratus.agent.virt.NbdExport;
import io.stratus.kvm.nbd.NbdClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * A volume's disk read over its NBD export, read-only: what a server booted from a volume boots is
 * found on the volume itself. Its filesystems are copied out for debugfs (there is no file to
 * point debugfs at).
 */
final class NbdDisk implements DiskReader {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final NbdClient client;

    private NbdDisk(NbdClient client) {
        this.client = client;
    }

    static NbdDisk open(NbdExport export) throws IOException {
        SocketAddress server = export.socket().<SocketAddress>map(UnixDomainSocketAddress::of)
                .orElseGet(() -> new InetSocketAddress(export.host(), export.port()));
        return new NbdDisk(NbdClient.connect(server, export.name(), true, TIMEOUT));
    }

    @Override
    public long size() {
        return client.size();
    }

    @Override
    public void read(long offset, byte[] into, int length) throws IOException {
        checkRange(offset, length);
        client.read(offset, ByteBuffer.wrap(into, 0, length));
    }

    @Override
    public Optional<Path> rawFile() {
        return Optional.empty();
    }

    @Override
    public void copyOut(long offset, long length, Path target) throws IOException {
        checkRange(offset, length);
        SparseCopy.copy(this::read, offset, length, target);
    }

    @Override
    public void close() {
        client.close();
    }
}
