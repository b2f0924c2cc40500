package io.stratus.kvm.virtio;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * An ordered list of guest buffers viewed as one byte stream, for device code that must not care
 * how the driver split a request across descriptors.
 */
public final class GuestSegments {
    /** One piece of the stream. */
    public record Segment(GuestAddress address, int length) {
    }

    private final List<Segment> segments;
    private final long length;

    private GuestSegments(List<Segment> segments) {
        this.segments = List.copyOf(segments);
        long total = 0;
        for (Segment s : segments) {
            total += s.length;
        }
        this.length = total;
    }

    /** The readable (or writable) buffers of {@code chain}, in order. */
    public static GuestSegments of(DescriptorChain chain, boolean writable) {
        List<Segment> out = new ArrayList<>();
        for (Descriptor d : chain.descriptors()) {
            if (d.writable() == writable) {
                out.add(new Segment(d.address(), d.length()));
            }
        }
        return new GuestSegments(out);
    }

    public List<Segment> segments() {
        return segments;
    }

    public long length() {
        return length;
    }

    /** The stream without its first {@code n} bytes. */
    public GuestSegments skip(long n) {
        return range(n, length - n);
    }

    /** The stream without its last {@code n} bytes. */
    public GuestSegments dropLast(long n) {
        return range(0, length - n);
    }

    /** Bytes {@code [from, from + count)} of the stream. */
    public GuestSegments range(long from, long count) {
        if (from < 0 || count < 0 || from + count > length) {
            throw new IndexOutOfBoundsException("range " + from + " +" + count + " of " + length + " bytes");
        }
        List<Segment> out = new ArrayList<>();
        long position = 0;
        for (Segment s : segments) {
            long start = Math.max(from, position);
            long end = Math.min(from + count, position + s.length);
            if (start < end) {
                out.add(new Segment(s.address.add(start - position), (int) (end - start)));
            }
            position += s.length;
        }
        return new GuestSegments(out);
    }

    /** Copies the first {@code dst.length} bytes of the stream out of guest memory. */
    public void read(GuestMemory memory, byte[] dst) {
        int done = 0;
        for (Segment s : segments) {
            if (done == dst.length) {
                break;
            }
            int n = Math.min(s.length, dst.length - done);
            memory.read(s.address, dst, done, n);
            done += n;
        }
        if (done < dst.length) {
            throw new IndexOutOfBoundsException("stream has " + length + " bytes, " + dst.length + " wanted");
        }
    }

    /** Copies {@code src} into the start of the stream. */
    public void write(GuestMemory memory, byte[] src) {
        int done = 0;
        for (Segment s : segments) {
            if (done == src.length) {
                break;
            }
            int n = Math.min(s.length, src.length - done);
            memory.write(s.address, src, done, n);
            done += n;
        }
        if (done < src.length) {
            throw new IndexOutOfBoundsException("stream has " + length + " bytes, " + src.length + " given");
        }
    }
}
