package io.stratus.kvm.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;

/**
 * A non-blocking file descriptor that carries whole Ethernet frames, each preceded by a
 * virtio-net header: a TAP device opened with IFF_VNET_HDR, or (for tests) one end of a
 * SOCK_SEQPACKET socket pair, which keeps frame boundaries the same way.
 */
public final class PacketChannel extends NativeFd {
    private static final long TUNSETIFF = 0x400454caL;
    private static final long TUNSETOFFLOAD = 0x400454d0L;
    private static final long TUNSETVNETHDRSZ = 0x400454d8L;
    private static final short IFF_TAP = 0x0002;
    private static final short IFF_NO_PI = 0x1000;
    private static final short IFF_VNET_HDR = 0x4000;
    private static final int IFNAMSIZ = 16;
    private static final int AF_UNIX = 1;
    private static final int SOCK_SEQPACKET = 5;
    private static final int SOCK_NONBLOCK = 0x800;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final short POLLIN = 1;
    private static final short POLLOUT = 4;

    public static final int TUN_F_CSUM = 0x01;
    public static final int TUN_F_TSO4 = 0x02;
    public static final int TUN_F_TSO6 = 0x04;
    public static final int TUN_F_TSO_ECN = 0x08;

    private final String name;
    private final boolean tap;

    private PacketChannel(int fd, String name, boolean tap) {
        super(fd);
        this.name = name;
        this.tap = tap;
    }

    /**
     * Opens TAP device {@code name} (created if it does not exist, in the calling thread's network
     * namespace) with virtio-net headers of {@code headerSize} bytes.
     */
    public static PacketChannel openTap(String name, int headerSize) {
        if (name.isEmpty() || name.length() >= IFNAMSIZ || !name.matches("[A-Za-z0-9_.-]+")) {
            throw new KvmException("TAP name '" + name + "' must be 1 to 15 letters, digits, '_', '.' or '-'");
        }
        int fd;
        try {
            fd = LibC.open("/dev/net/tun", LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new KvmException("cannot open /dev/net/tun for TAP " + name + ": " + Errno.describe(e.getErrorCode()));
        }
        PacketChannel channel = new PacketChannel(fd, name, true);
        try {
            Memory ifr = new Memory(40);
            ifr.clear();
            ifr.write(0, name.getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, name.length());
            ifr.setShort(IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR));
            try {
                LibC.ioctl(fd, TUNSETIFF, ifr);
            } catch (LastErrorException e) {
                throw new KvmException("cannot attach TAP " + name + ": " + Errno.describe(e.getErrorCode())
                        + (e.getErrorCode() == Errno.EPERM ? " (creating or attaching a TAP needs CAP_NET_ADMIN)"
                        : e.getErrorCode() == Errno.EBUSY ? " (another guest or process has it open)"
                        : e.getErrorCode() == Errno.EINVAL ? " (an interface of that name exists and is not a TAP)"
                        : ""));
            }
            Memory size = new Memory(4);
            size.setInt(0, headerSize);
            channel.ioctl("TUNSETVNETHDRSZ", TUNSETVNETHDRSZ, size);
            return channel;
        } catch (RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** A connected pair of non-blocking SOCK_SEQPACKET sockets: one end for a device, one for a test. */
    public static PacketChannel[] socketPair() {
        int[] sv = new int[2];
        try {
            LibC.socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
        } catch (LastErrorException e) {
            throw new KvmException("socketpair", e.getErrorCode());
        }
        return new PacketChannel[] {new PacketChannel(sv[0], "pair0", false), new PacketChannel(sv[1], "pair1", false)};
    }

    public String name() {
        return name;
    }

    /** Tells a TAP which offloads the guest accepts on receive ({@code TUN_F_*}); no-op for a socket pair. */
    public void setOffload(int flags) {
        if (tap) {
            ioctl("TUNSETOFFLOAD", TUNSETOFFLOAD, flags);
        }
    }

    /** Reads one frame into {@code buffer}; returns its length, or -1 when none is waiting. */
    public int read(Pointer buffer, int capacity) throws IOException {
        try {
            return (int) LibC.read(fd(), buffer, capacity);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EAGAIN || e.getErrorCode() == Errno.EINTR) {
                return -1;
            }
            throw new IOException("read from " + name + ": " + Errno.describe(e.getErrorCode()));
        }
    }

    /**
     * Sends one frame gathered from {@code count} host buffers. Returns false if the channel
     * stayed full for {@code timeoutMillis}.
     */
    public boolean write(long[] addresses, long[] lengths, int count, int timeoutMillis) throws IOException {
        Memory iov = new Memory(16L * Math.max(1, count));
        for (int i = 0; i < count; i++) {
            iov.setLong(16L * i, addresses[i]);
            iov.setLong(16L * i + 8, lengths[i]);
        }
        while (true) {
            try {
                // Safe because: the iovecs name guest RAM the caller validated, mapped while the device runs.
                LibC.writev(fd(), iov, count);
                return true;
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EINTR) {
                    continue;
                }
                if (e.getErrorCode() != Errno.EAGAIN) {
                    throw new IOException("write to " + name + ": " + Errno.describe(e.getErrorCode()));
                }
            }
            if (!poll(POLLOUT, timeoutMillis)) {
                return false;
            }
        }
    }

    /** {@link #await} result bit: a frame can be read. */
    public static final int FRAME_READY = 1;
    /** {@link #await} result bit: the wake eventfd was signalled. */
    public static final int WOKEN = 2;

    /**
     * Waits until a frame can be read or {@code wake} is signalled, for at most
     * {@code timeoutMillis} (-1: no limit). Returns {@link #FRAME_READY} and/or {@link #WOKEN}.
     */
    public int await(EventFd wake, int timeoutMillis) throws IOException {
        Memory fds = new Memory(16);
        fds.clear();
        fds.setInt(0, fd());
        fds.setShort(4, POLLIN);
        fds.setInt(8, wake.fd());
        fds.setShort(12, POLLIN);
        try {
            LibC.poll(fds, 2, timeoutMillis);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != Errno.EINTR) {
                throw new IOException("poll on " + name + ": " + Errno.describe(e.getErrorCode()));
            }
        }
        return ((fds.getShort(6) & POLLIN) != 0 ? FRAME_READY : 0) | ((fds.getShort(14) & POLLIN) != 0 ? WOKEN : 0);
    }

    private boolean poll(short events, int timeoutMillis) throws IOException {
        Memory fds = new Memory(8);
        fds.clear();
        fds.setInt(0, fd());
        fds.setShort(4, events);
        try {
            return LibC.poll(fds, 1, timeoutMillis) > 0;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EINTR) {
                return false;
            }
            throw new IOException("poll on " + name + ": " + Errno.describe(e.getErrorCode()));
        }
    }
}
