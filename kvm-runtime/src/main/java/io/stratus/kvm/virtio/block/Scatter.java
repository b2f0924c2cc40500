package io.stratus.kvm.virtio.block;

import com.sun.jna.Pointer;
import java.nio.ByteBuffer;

/**
 * The host buffers of one request (address, length pairs over guest RAM), cut into pieces by byte
 * range so that each piece can go to its own place in an image with one vectored call.
 */
final class Scatter {
    private final long[] addresses;
    private final long[] lengths;
    private final int count;
    private final long total;
    // A cursor: the buffer that byte {@code cursorOffset} of the request falls in, and where.
    private int cursorIndex;
    private long cursorOffset;

    Scatter(long[] addresses, long[] lengths, int count) {
        if (count < 0 || count > addresses.length || count > lengths.length) {
            throw new IllegalArgumentException("scatter list of " + count + " buffers with "
                    + addresses.length + " addresses and " + lengths.length + " lengths");
        }
        long sum = 0;
        for (int i = 0; i < count; i++) {
            if (lengths[i] < 0) {
                throw new IllegalArgumentException("negative buffer length " + lengths[i]);
            }
            sum = Math.addExact(sum, lengths[i]);
        }
        this.addresses = addresses;
        this.lengths = lengths;
        this.count = count;
        this.total = sum;
    }

    /** One buffer of {@code length} bytes at host address {@code address}. */
    static Scatter of(long address, long length) {
        return new Scatter(new long[] {address}, new long[] {length}, 1);
    }

    long total() {
        return total;
    }

    /** Bytes {@code [from, from + length)} of the request, as their own list of buffers. */
    Scatter slice(long from, long length) {
        if (from < 0 || length < 0 || from > total - length) {
            throw new IllegalArgumentException("slice [" + from + ", +" + length + ") of " + total + " bytes");
        }
        if (from < cursorOffset) {
            cursorIndex = 0;
            cursorOffset = 0;
        }
        // Move the cursor to the buffer holding byte {@code from}, skipping empty buffers.
        while (cursorIndex < count && cursorOffset + lengths[cursorIndex] <= from) {
            cursorOffset += lengths[cursorIndex];
            cursorIndex++;
        }
        int n = 0;
        long[] a = new long[Math.max(1, count - cursorIndex)];
        long[] l = new long[a.length];
        long left = length;
        long skip = from - cursorOffset;
        for (int i = cursorIndex; i < count && left > 0; i++) {
            long take = Math.min(lengths[i] - skip, left);
            if (take > 0) {
                a[n] = addresses[i] + skip;
                l[n] = take;
                n++;
                left -= take;
            }
            skip = 0;
        }
        return new Scatter(a, l, n);
    }

    long[] addresses() {
        return addresses;
    }

    long[] lengths() {
        return lengths;
    }

    int count() {
        return count;
    }

    /** Fills every buffer with zeros. */
    void zero() {
        for (int i = 0; i < count; i++) {
            // Safe because: the buffers are guest RAM (or the image's own buffers) the caller validated.
            new Pointer(addresses[i]).setMemory(0, lengths[i], (byte) 0);
        }
    }

    /** Copies every buffer, in order, into {@code target} from its current position on. */
    void copyTo(ByteBuffer target) {
        for (int i = 0; i < count; i++) {
            // Safe because: as for zero(); the view lives only for this copy.
            target.put(new Pointer(addresses[i]).getByteBuffer(0, lengths[i]));
        }
    }
}
