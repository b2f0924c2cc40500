package io.stratus.kvm.nbd;

import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;

/**
 * One connection to an NBD export, after the protocol's {@code proto.md}: the fixed newstyle
 * handshake, {@code NBD_OPT_GO} (the export's size and flags from {@code NBD_INFO_EXPORT}), and
 * transmission with simple replies (no structured replies are asked for): read, write, flush,
 * disconnect. Requests go one at a time. Read-only exports (or a connection opened read-only)
 * refuse writes here, before anything is sent.
 *
 * <p>Every wait on the server is bounded by the connection's timeout, and every failure of the
 * connection (closed, reset, timed out, an answer that is not NBD) ends it for good: that request
 * and every later one fail at once with an {@link IOException}, so a disk on a server that went
 * away gives its guest I/O errors, never a hang. The server's own refusals of one request
 * ({@code EIO}, {@code ENOSPC}, …) are {@link NbdException}s and leave the connection usable.
 *
 * <p>Safe for use by several threads: requests are serialised.
 */
public final class NbdClient implements AutoCloseable {
    static final long NBDMAGIC = 0x4e42444d41474943L;
    static final long IHAVEOPT = 0x49484156454f5054L;
    static final long OLDSTYLE_MAGIC = 0x00420281861253L;
    static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    static final int REQUEST_MAGIC = 0x25609513;
    static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

    static final int FLAG_FIXED_NEWSTYLE = 1;
    static final int FLAG_NO_ZEROES = 2;
    static final int OPT_GO = 7;
    static final int REP_ACK = 1;
    static final int REP_INFO = 3;
    static final int REP_FLAG_ERROR = 1 << 31;
    static final int INFO_EXPORT = 0;
    static final int TRANSMIT_READ_ONLY = 1 << 1;
    static final int TRANSMIT_SEND_FLUSH = 1 << 2;
    static final short CMD_READ = 0;
    static final short CMD_WRITE = 1;
    static final short CMD_DISC = 2;
    static final short CMD_FLUSH = 3;

    /** Transfers go in pieces of this size: what every server takes (qemu-nbd's and nbdkit's limit is 32 MiB). */
    static final int MAX_REQUEST = 1 << 20;
    /** The longest option reply accepted: an export's description or an error message, not more. */
    private static final int MAX_OPTION_REPLY = 64 << 10;

    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final long timeoutNanos;
    private final String name;
    private final ByteBuffer header = ByteBuffer.allocate(28).order(ByteOrder.BIG_ENDIAN);
    private final ByteBuffer reply = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN);
    private long size;
    private int transmissionFlags;
    private boolean readOnly;
    private long nextHandle = 1;
    private String lost;

    private NbdClient(SocketChannel channel, Selector selector, Duration timeout, String name) throws IOException {
        this.channel = channel;
        this.selector = selector;
        this.key = channel.register(selector, 0);
        this.timeoutNanos = timeout.toNanos();
        this.name = name;
    }

    /**
     * Connects to {@code server} (a TCP address or a Unix socket's) and opens {@code export}.
     *
     * @param readOnly  whether this connection only reads (an export the server marks read-only is, anyway)
     * @param timeout   the longest wait for the server at any step
     * @throws NbdException the server refused (no such export, TLS required, …) or is no NBD server
     * @throws IOException  the server cannot be reached
     */
    public static NbdClient connect(SocketAddress server, String export, boolean readOnly, Duration timeout)
            throws IOException {
        Objects.requireNonNull(export, "export");
        String name = "NBD export '" + export + "' at " + server;
        SocketChannel channel = server instanceof UnixDomainSocketAddress
                ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        Selector selector = null;
        try {
            channel.configureBlocking(false);
            selector = Selector.open();
            NbdClient c = new NbdClient(channel, selector, timeout, name);
            // Not blocking: a host that drops the SYN would hold the caller for the kernel's minutes.
            if (!channel.connect(server)) {
                c.finishConnect();
            }
            c.handshake(export);
            c.readOnly = readOnly || (c.transmissionFlags & TRANSMIT_READ_ONLY) != 0;
            return c;
        } catch (IOException | RuntimeException e) {
            channel.close();
            if (selector != null) {
                selector.close();
            }
            throw e;
        }
    }

    private void finishConnect() throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (!channel.finishConnect()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new IOException(name + ": not reached within " + Duration.ofNanos(timeoutNanos).toMillis()
                        + " ms");
            }
            key.interestOps(SelectionKey.OP_CONNECT);
            selector.select(Math.max(1, left / 1_000_000));
            selector.selectedKeys().clear();
        }
    }

    private void handshake(String export) throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        ByteBuffer b = ByteBuffer.allocate(18);
        readFully(b, deadline);
        b.flip();
        if (b.getLong() != NBDMAGIC) {
            throw new NbdException(name + ": the server does not speak NBD", true);
        }
        long second = b.getLong();
        if (second == OLDSTYLE_MAGIC) {
            throw new NbdException(name + ": the server speaks only NBD's oldstyle handshake", true);
        }
        if (second != IHAVEOPT) {
            throw new NbdException(name + ": the server's handshake is not NBD's newstyle", true);
        }
        int serverFlags = b.getShort() & 0xffff;
        if ((serverFlags & FLAG_FIXED_NEWSTYLE) == 0) {
            throw new NbdException(name + ": the server does not offer the fixed newstyle handshake", true);
        }
        writeFully(ByteBuffer.allocate(4).putInt(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES)).flip(),
                deadline);
        byte[] exportName = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer go = ByteBuffer.allocate(16 + 4 + exportName.length + 2);
        go.putLong(IHAVEOPT).putInt(OPT_GO).putInt(4 + exportName.length + 2).putInt(exportName.length)
                .put(exportName).putShort((short) 0).flip();
        writeFully(go, deadline);
        boolean sized = false;
        while (true) {
            ByteBuffer head = ByteBuffer.allocate(20);
            readFully(head, deadline);
            head.flip();
            if (head.getLong() != OPTION_REPLY_MAGIC || head.getInt() != OPT_GO) {
                throw new NbdException(name + ": the server's answer to NBD_OPT_GO is not NBD", true);
            }
            int type = head.getInt();
            int length = head.getInt();
            if (length < 0 || length > MAX_OPTION_REPLY) {
                throw new NbdException(name + ": the server's option reply is " + Integer.toUnsignedString(length)
                        + " bytes long", true);
            }
            ByteBuffer data = ByteBuffer.allocate(length);
            readFully(data, deadline);
            data.flip();
            if ((type & REP_FLAG_ERROR) != 0) {
                String message = StandardCharsets.UTF_8.decode(data).toString();
                throw new NbdException(name + " cannot be opened: " + optionError(type)
                        + (message.isEmpty() ? "" : " (" + message + ")"), true);
            }
            if (type == REP_ACK) {
                break;
            }
            if (type == REP_INFO && length >= 2 && data.getShort(0) == INFO_EXPORT) {
                if (length < 12) {
                    throw new NbdException(name + ": the server's NBD_INFO_EXPORT is too short", true);
                }
                size = data.getLong(2);
                transmissionFlags = data.getShort(10) & 0xffff;
                sized = true;
            }
            // Other information (a name, a description, block sizes) is not needed here.
        }
        if (!sized || size < 0) {
            throw new NbdException(name + ": the server did not tell the export's size", true);
        }
    }

    private static String optionError(int type) {
        return switch (type & ~REP_FLAG_ERROR) {
            case 1 -> "the server does not support NBD_OPT_GO";
            case 2 -> "the server's policy forbids it";
            case 3 -> "the server calls the request invalid";
            case 5 -> "the server requires TLS";
            case 6 -> "no such export";
            case 7 -> "the server is shutting down";
            case 8 -> "the server requires block size negotiation";
            case 9 -> "the export name is too big";
            default -> "error " + (type & ~REP_FLAG_ERROR);
        };
    }

    /** The export's size in bytes. */
    public long size() {
        return size;
    }

    /** Whether writes are refused: the server says so, or the connection was opened read-only. */
    public boolean readOnly() {
        return readOnly;
    }

    /** Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst}. */
    public synchronized void read(long offset, ByteBuffer dst) throws IOException {
        checkRange(offset, dst.remaining());
        long position = offset;
        while (dst.hasRemaining()) {
            int n = Math.min(dst.remaining(), MAX_REQUEST);
            ByteBuffer piece = dst.slice(dst.position(), n);
            request(CMD_READ, position, n, null, piece);
            dst.position(dst.position() + n);
            position += n;
        }
    }

    /** Writes {@code src.remaining()} bytes at {@code offset}; done once the server said so (not yet durable). */
    public synchronized void write(long offset, ByteBuffer src) throws IOException {
        if (readOnly) {
            throw new NbdException(name + " is read-only", false);
        }
        checkRange(offset, src.remaining());
        long position = offset;
        while (src.hasRemaining()) {
            int n = Math.min(src.remaining(), MAX_REQUEST);
            request(CMD_WRITE, position, n, src.slice(src.position(), n), null);
            src.position(src.position() + n);
            position += n;
        }
    }

    /**
     * Makes every completed write durable on the server. A server that does not take flushes
     * (no {@code NBD_FLAG_SEND_FLUSH}) writes through: nothing to do.
     */
    public synchronized void flush() throws IOException {
        if ((transmissionFlags & TRANSMIT_SEND_FLUSH) != 0 && !readOnly) {
            request(CMD_FLUSH, 0, 0, null, null);
        }
    }

    private void checkRange(long offset, int length) throws NbdException {
        if (offset < 0 || offset > size - length) {
            throw new NbdException(name + ": " + length + " bytes at " + offset + " are beyond the export's "
                    + size + " bytes", false);
        }
    }

    private void request(short type, long offset, int length, ByteBuffer payload, ByteBuffer into)
            throws IOException {
        if (lost != null) {
            throw new NbdException(name + ": the connection was lost (" + lost + ")", true);
        }
        long handle = nextHandle++;
        long deadline = System.nanoTime() + timeoutNanos;
        try {
            header.clear();
            header.putInt(REQUEST_MAGIC).putShort((short) 0).putShort(type).putLong(handle).putLong(offset)
                    .putInt(length).flip();
            writeFully(header, deadline);
            if (payload != null) {
                writeFully(payload, deadline);
            }
            reply.clear();
            readFully(reply, deadline);
            reply.flip();
            int magic = reply.getInt();
            int error = reply.getInt();
            long answered = reply.getLong();
            if (magic != SIMPLE_REPLY_MAGIC) {
                throw new NbdException(name + ": the server's reply is not a simple reply (magic "
                        + Integer.toHexString(magic) + ")", true);
            }
            if (answered != handle) {
                throw new NbdException(name + ": the server answered request " + answered + " to request " + handle,
                        true);
            }
            if (error != 0) {
                throw new NbdException(name + ": the server refused " + command(type) + " of " + length + " bytes at "
                        + offset + ": " + errno(error), false);
            }
            if (into != null) {
                readFully(into, deadline);
            }
        } catch (NbdException e) {
            if (e.connectionLost()) {
                lose(e.getMessage());
            }
            throw e;
        } catch (IOException e) {
            lose(e.getMessage() == null ? e.toString() : e.getMessage());
            throw new NbdException(name + ": the connection was lost (" + lost + ")", true);
        }
    }

    private void lose(String why) {
        lost = why;
        try {
            channel.close();
            selector.close();
        } catch (IOException e) {
            // Closing is all that is left to do; the reason is already recorded.
        }
    }

    private static String command(short type) {
        return switch (type) {
            case CMD_READ -> "a read";
            case CMD_WRITE -> "a write";
            case CMD_FLUSH -> "a flush";
            default -> "command " + type;
        };
    }

    /** The protocol's error values (Linux's errno numbers, by the specification). */
    private static String errno(int error) {
        return switch (error) {
            case 1 -> "EPERM (not permitted)";
            case 5 -> "EIO (I/O error)";
            case 12 -> "ENOMEM (out of memory)";
            case 22 -> "EINVAL (invalid request)";
            case 28 -> "ENOSPC (no space left)";
            case 75 -> "EOVERFLOW (too large)";
            case 95 -> "ENOTSUP (not supported)";
            case 108 -> "ESHUTDOWN (the server is shutting down)";
            default -> "error " + error;
        };
    }

    private void writeFully(ByteBuffer b, long deadline) throws IOException {
        while (b.hasRemaining()) {
            if (channel.write(b) == 0) {
                await(SelectionKey.OP_WRITE, deadline);
            }
        }
    }

    private void readFully(ByteBuffer b, long deadline) throws IOException {
        while (b.hasRemaining()) {
            int n = channel.read(b);
            if (n < 0) {
                throw new IOException("the server closed the connection");
            }
            if (n == 0) {
                await(SelectionKey.OP_READ, deadline);
            }
        }
    }

    private void await(int op, long deadline) throws IOException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new IOException("the server did not answer within " + Duration.ofNanos(timeoutNanos).toMillis()
                    + " ms");
        }
        key.interestOps(op);
        selector.select(Math.max(1, left / 1_000_000));
        selector.selectedKeys().clear();
    }

    /** Tells the server the connection ends ({@code NBD_CMD_DISC}), then closes it. */
    @Override
    public synchronized void close() {
        if (lost != null) {
            return;
        }
        try {
            header.clear();
            header.putInt(REQUEST_MAGIC).putShort((short) 0).putShort(CMD_DISC).putLong(nextHandle++).putLong(0)
                    .putInt(0).flip();
            writeFully(header, System.nanoTime() + timeoutNanos);
        } catch (IOException e) {
            // The server is gone already: nothing to tell it.
        }
        lose("closed");
    }
}
