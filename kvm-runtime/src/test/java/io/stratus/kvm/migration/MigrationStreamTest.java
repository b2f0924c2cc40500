package io.stratus.kvm.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.memory.DirtyPages;
import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;

/** The migration stream without KVM: pages between two guest memories, and hostile input on the target side. */
class MigrationStreamTest {
    private static final int PAGE = (int) GuestMemory.PAGE_SIZE;
    private static final long RAM = 16L << 20;
    private static final Set<Frame.Type> ANY = EnumSet.allOf(Frame.Type.class);

    /** A memory with a few kinds of page: random, repetitive text, and zeros everywhere else. */
    private static GuestMemory sourceMemory() {
        GuestMemory m = GuestMemory.x86(RAM, false);
        Random random = new Random(42);
        byte[] noise = new byte[64 * PAGE];
        random.nextBytes(noise);
        m.write(GuestAddress.of(1L << 20), noise);
        byte[] text = "the quick brown fox jumps over the lazy dog. ".repeat(2000).getBytes();
        m.write(GuestAddress.of(8L << 20), text);
        m.writeLong(GuestAddress.of(RAM - 8), -1L);
        return m;
    }

    private record Sent(byte[] stream, long pagesSent, long zeroPages) {
    }

    private static Sent send(GuestMemory memory, DirtyPages pages, boolean compress) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        FrameWriter out = new FrameWriter(Channels.newChannel(bytes), OptionalLong.empty());
        PageSender sender = new PageSender(memory, out, compress);
        sender.send(pages);
        sender.close();
        return new Sent(bytes.toByteArray(), sender.pagesSent(), sender.zeroPages());
    }

    /** Applies every PAGES frame of {@code stream} to {@code target}. */
    private static PageReceiver receive(byte[] stream, GuestMemory target) throws IOException {
        FrameReader in = new FrameReader(Channels.newChannel(new ByteArrayInputStream(stream)), "the source");
        PageReceiver receiver = new PageReceiver(target);
        while (true) {
            Frame f;
            try {
                f = in.next(ANY);
            } catch (MigrationException e) {
                assertThat(e).hasMessageContaining("closed the connection");
                return receiver;
            }
            receiver.apply(f.payload());
        }
    }

    private static void assertSameMemory(GuestMemory a, GuestMemory b) {
        byte[] x = new byte[PAGE];
        byte[] y = new byte[PAGE];
        for (long p = 0; p < a.pageCount(); p++) {
            a.readPage(p, x, 0);
            b.readPage(p, y, 0);
            assertThat(Arrays.equals(x, y)).as("page %d", p).isTrue();
        }
    }

    @Test
    void copiesEveryPageAndSendsZeroPagesAsFlagsOnly() throws Exception {
        try (GuestMemory source = sourceMemory(); GuestMemory target = GuestMemory.x86(RAM, false)) {
            target.fill(GuestAddress.of(0), RAM, (byte) 0x5a); // stale content the stream must replace
            Sent sent = send(source, DirtyPages.all(source.pageCount()), false);
            long dataPages = 64 + (90_000 + PAGE - 1) / PAGE + 1;
            assertThat(sent.pagesSent()).isEqualTo(dataPages);
            assertThat(sent.zeroPages()).isEqualTo(source.pageCount() - dataPages);
            // Zero pages cost a run entry each, not a page.
            assertThat(sent.stream().length).isLessThan((int) ((dataPages + 16) * (PAGE + 16)));
            PageReceiver r = receive(sent.stream(), target);
            assertThat(r.complete()).isTrue();
            assertThat(r.pagesReceived()).isEqualTo(dataPages);
            assertSameMemory(source, target);
        }
    }

    @Test
    void deflatesPagesWhereItPaysAndSendsTheRestRaw() throws Exception {
        try (GuestMemory source = sourceMemory(); GuestMemory target = GuestMemory.x86(RAM, false)) {
            DirtyPages all = DirtyPages.all(source.pageCount());
            long t0 = System.nanoTime();
            Sent raw = send(source, all, false);
            long t1 = System.nanoTime();
            Sent deflated = send(source, all, true);
            long t2 = System.nanoTime();
            System.out.printf("16 MiB guest, %d data pages: raw %d bytes in %d ms, deflated %d bytes in %d ms%n", raw.pagesSent(),
                    raw.stream().length, (t1 - t0) / 1_000_000, deflated.stream().length, (t2 - t1) / 1_000_000);
            // The text pages shrink; the random ones stay raw.
            assertThat(deflated.stream().length).isLessThan(raw.stream().length - 20 * PAGE);
            assertThat(deflated.stream().length).isGreaterThan(64 * PAGE);
            receive(deflated.stream(), target);
            assertSameMemory(source, target);
        }
    }

    @Test
    void laterRoundsOverwriteAndZeroWhatEarlierRoundsSent() throws Exception {
        try (GuestMemory source = sourceMemory(); GuestMemory target = GuestMemory.x86(RAM, false)) {
            receive(send(source, DirtyPages.all(source.pageCount()), false).stream(), target);
            source.startWriteTracking();
            source.fill(GuestAddress.of(1L << 20), 4L * PAGE, (byte) 0); // data pages become zero
            source.writeLong(GuestAddress.of(5L << 20), 77); // a zero page gets data
            DirtyPages dirty = source.takeWrittenPages();
            assertThat(dirty.count()).isEqualTo(5);
            Sent round2 = send(source, dirty, false);
            assertThat(round2.pagesSent()).isEqualTo(1);
            assertThat(round2.zeroPages()).isEqualTo(4);
            receive(round2.stream(), target);
            assertSameMemory(source, target);
        }
    }

    // --- hostile input ---

    private static byte[] frame(Frame.Type type, byte[] payload) {
        return ByteBuffer.allocate(5 + payload.length).put((byte) type.code).putInt(payload.length).put(payload).array();
    }

    private static byte[] frameClaiming(int code, long length, byte[] payload) {
        return ByteBuffer.allocate(5 + payload.length).put((byte) code).putInt((int) length).put(payload).array();
    }

    private static void applyPages(ByteBuffer entries) {
        try (GuestMemory target = GuestMemory.x86(RAM, false)) {
            PageReceiver r = new PageReceiver(target);
            try {
                r.apply(entries.flip());
            } finally {
                r.close();
            }
        }
    }

    private static Frame read(byte[] stream, Set<Frame.Type> expected) throws IOException {
        return new FrameReader(Channels.newChannel(new ByteArrayInputStream(stream)), "the source").next(expected);
    }

    @Test
    void rejectsPagesOutsideGuestRam() {
        long pages = RAM / PAGE;
        assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(1 + 8 + PAGE).put((byte) Frame.PAGE_RAW).putLong(pages)
                .put(new byte[PAGE]))).isInstanceOf(MigrationException.class).hasMessageContaining("outside guest RAM");
        assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(1 + 8 + PAGE).put((byte) Frame.PAGE_RAW)
                .putLong(Long.MIN_VALUE).put(new byte[PAGE]))).isInstanceOf(MigrationException.class)
                .hasMessageContaining("outside guest RAM");
        assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(13).put((byte) Frame.PAGE_ZERO_RUN).putLong(pages - 2)
                .putInt(3))).isInstanceOf(MigrationException.class).hasMessageContaining("outside guest RAM");
        assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(13).put((byte) Frame.PAGE_ZERO_RUN).putLong(1)
                .putInt(-1))).isInstanceOf(MigrationException.class).hasMessageContaining("outside guest RAM");
        assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(13).put((byte) Frame.PAGE_ZERO_RUN).putLong(1)
                .putInt(0))).isInstanceOf(MigrationException.class).hasMessageContaining("empty zero run");
    }

    @Test
    void rejectsTruncatedAndUnknownPageEntries() {
        assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(1 + 8 + 100).put((byte) Frame.PAGE_RAW).putLong(3)
                .put(new byte[100]))).isInstanceOf(MigrationException.class).hasMessageContaining("cut short");
        assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(5).put((byte) Frame.PAGE_RAW).putInt(3)))
                .isInstanceOf(MigrationException.class).hasMessageContaining("cut short");
        assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(9).put((byte) 7).putLong(3)))
                .isInstanceOf(MigrationException.class).hasMessageContaining("unknown page entry kind 7");
    }

    @Test
    void rejectsDeflatedPagesThatAreNotExactlyOnePage() {
        assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(11).put((byte) Frame.PAGE_DEFLATED).putLong(3)
                .putShort((short) 0))).isInstanceOf(MigrationException.class).hasMessageContaining("of 0 bytes");
        assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(11 + 5000).put((byte) Frame.PAGE_DEFLATED).putLong(3)
                .putShort((short) 5000).put(new byte[5000]))).isInstanceOf(MigrationException.class)
                .hasMessageContaining("of 5000 bytes");
        assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(11 + 10).put((byte) Frame.PAGE_DEFLATED).putLong(3)
                .putShort((short) 10).put(new byte[] {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1})))
                .isInstanceOf(MigrationException.class).hasMessageContaining("deflated page 3");
        for (int size : new int[] {PAGE - 1, PAGE + 1, 1 << 20}) {
            byte[] d = deflate(new byte[size]);
            assertThatThrownBy(() -> applyPages(ByteBuffer.allocate(11 + d.length).put((byte) Frame.PAGE_DEFLATED)
                    .putLong(3).putShort((short) d.length).put(d))).as("inflates to %d bytes", size)
                    .isInstanceOf(MigrationException.class).hasMessageContaining("exactly one page");
        }
    }

    private static byte[] deflate(byte[] data) {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        d.setInput(data);
        d.finish();
        byte[] out = new byte[PAGE];
        int n = d.deflate(out);
        d.end();
        return Arrays.copyOf(out, n);
    }

    @Test
    void rejectsFramesOfUnknownTypeOrBeyondTheirLimitBeforeReadingThem() {
        assertThatThrownBy(() -> read(frameClaiming(0x42, 0, new byte[0]), ANY))
                .isInstanceOf(MigrationException.class).hasMessageContaining("unknown frame type 0x42");
        // A length of 4 GiB - 1 is refused from the header alone: no payload follows, none is awaited.
        assertThatThrownBy(() -> read(frameClaiming(Frame.Type.PAGES.code, 0xffffffffL, new byte[0]), ANY))
                .isInstanceOf(MigrationException.class).hasMessageContaining("more than its limit");
        assertThatThrownBy(() -> read(frameClaiming(Frame.Type.STATE.code, Frame.MAX_STATE_PAYLOAD + 1L,
                new byte[0]), ANY)).isInstanceOf(MigrationException.class).hasMessageContaining("more than its limit");
        assertThatThrownBy(() -> read(frameClaiming(Frame.Type.ACCEPT.code, 1, new byte[1]), ANY))
                .isInstanceOf(MigrationException.class).hasMessageContaining("more than its limit");
        assertThatThrownBy(() -> read(frame(Frame.Type.STATE, new byte[3]), Set.of(Frame.Type.HELLO)))
                .isInstanceOf(MigrationException.class).hasMessageContaining("STATE frame where [HELLO]");
    }

    @Test
    void truncatedFramesAreAClosedConnectionNotAHalfFrame() {
        assertThatThrownBy(() -> read(new byte[0], ANY)).isInstanceOf(MigrationException.class)
                .hasMessage("the source closed the connection");
        assertThatThrownBy(() -> read(new byte[] {2, 0}, ANY)).isInstanceOf(MigrationException.class)
                .hasMessageContaining("mid-frame");
        assertThatThrownBy(() -> read(frameClaiming(Frame.Type.PAGES.code, 4096, new byte[100]), ANY))
                .isInstanceOf(MigrationException.class).hasMessageContaining("inside a PAGES frame (100 of 4096");
        // A state that claims 16 MiB and brings 10 bytes fails without waiting for the rest.
        assertThatThrownBy(() -> read(frameClaiming(Frame.Type.STATE.code, Frame.MAX_STATE_PAYLOAD, new byte[10]),
                ANY)).isInstanceOf(MigrationException.class).hasMessageContaining("inside a STATE frame (10 of");
    }

    @Test
    void largeStatePayloadsArriveWhole() throws IOException {
        byte[] state = new byte[3 << 20];
        new Random(1).nextBytes(state);
        Frame f = read(frame(Frame.Type.STATE, state), ANY);
        byte[] got = new byte[f.payload().remaining()];
        f.payload().get(got);
        assertThat(got).isEqualTo(state);
    }

    @Test
    void theTargetChecksTheLayoutMagicAndVersion() {
        try (GuestMemory m = GuestMemory.x86(RAM, false)) {
            MemoryLayout layout = MemoryLayout.of(m, 2);
            assertThat(MemoryLayout.decode(layout.encode())).isEqualTo(layout);
            assertThat(layout.pageCount()).isEqualTo(RAM / PAGE);

            ByteBuffer foreign = layout.encode();
            foreign.put(0, (byte) 'X');
            assertThatThrownBy(() -> MemoryLayout.decode(foreign)).isInstanceOf(MigrationException.class)
                    .hasMessageContaining("does not speak the Stratus migration protocol");
            ByteBuffer future = layout.encode();
            future.putInt(8, 99);
            assertThatThrownBy(() -> MemoryLayout.decode(future)).isInstanceOf(MigrationException.class)
                    .hasMessageContaining("version 99");
            ByteBuffer manyRegions = layout.encode();
            manyRegions.putInt(20, Integer.MAX_VALUE);
            assertThatThrownBy(() -> MemoryLayout.decode(manyRegions)).isInstanceOf(MigrationException.class)
                    .hasMessageContaining("2147483647 memory regions");
            ByteBuffer cut = layout.encode().limit(30);
            assertThatThrownBy(() -> MemoryLayout.decode(cut)).isInstanceOf(MigrationException.class)
                    .hasMessageContaining("cut short");
            assertThat(new MemoryLayout(PAGE, 2, List.of(new MemoryLayout.Region(0, 32L << 20))))
                    .isNotEqualTo(layout);
        }
    }

    @Test
    void theHandshakeSaysWhichDisksAreOnNbdExportsAndRefusesUnknownDiskFlags() {
        List<MemoryLayout.Region> ram = List.of(new MemoryLayout.Region(0, 32L << 20));
        MemoryLayout layout = new MemoryLayout(PAGE, 1, ram, true, List.of(new MemoryLayout.Disk(8L << 20, false, true),
                new MemoryLayout.Disk(1L << 20, true, false)));
        MemoryLayout back = MemoryLayout.decode(layout.encode());
        assertThat(back).isEqualTo(layout);
        assertThat(back.disks().get(0).onNbd()).isTrue();
        assertThat(back.disks()).isNotEqualTo(List.of(new MemoryLayout.Disk(8L << 20, false),
                new MemoryLayout.Disk(1L << 20, true)));
        ByteBuffer unknown = layout.encode();
        // The first disk's flags: after the magic, version, page size, vCPUs, region count, one region,
        // the stream's flags, the disk count and the disk's capacity.
        int at = MemoryLayout.MAGIC.length + 16 + 16 + 8 + 8;
        assertThat(unknown.get(at)).isEqualTo((byte) 2);
        unknown.put(at, (byte) 6);
        assertThatThrownBy(() -> MemoryLayout.decode(unknown)).isInstanceOf(MigrationException.class)
                .hasMessageContaining("flags 0x6");
    }

    @Test
    void aStreamThatSkipsPagesIsIncomplete() throws Exception {
        try (GuestMemory source = sourceMemory(); GuestMemory target = GuestMemory.x86(RAM, false)) {
            DirtyPages most = DirtyPages.ofBitmap(source.pageCount(), 0, new long[] {-1L}, 64)
                    .union(DirtyPages.ofBitmap(source.pageCount(), 65, new long[] {-1L}, 64));
            PageReceiver r = receive(send(source, most, false).stream(), target);
            assertThat(r.complete()).isFalse();
            assertThat(r.firstMissing()).isEqualTo(64);
        }
    }

    @Test
    void randomGarbageIsAlwaysAMigrationException() {
        Random random = new Random(7);
        try (GuestMemory target = GuestMemory.x86(RAM, false)) {
            PageReceiver r = new PageReceiver(target);
            for (int i = 0; i < 2000; i++) {
                byte[] junk = new byte[random.nextInt(64)];
                random.nextBytes(junk);
                if (random.nextBoolean() && junk.length > 0) {
                    junk[0] = (byte) random.nextInt(3);
                }
                try {
                    r.apply(ByteBuffer.wrap(junk));
                } catch (MigrationException expected) {
                    // the only way it may fail
                }
                try {
                    read(junk, ANY);
                } catch (MigrationException | IOException expected) {
                    // likewise
                }
            }
            r.close();
        }
    }
}
