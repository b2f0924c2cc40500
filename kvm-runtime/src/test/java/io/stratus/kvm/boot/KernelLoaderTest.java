package io.stratus.kvm.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelLoaderTest {
    @TempDir
    Path dir;
    GuestMemory memory;

    @BeforeEach
    void memory() {
        memory = GuestMemory.x86(64L << 20, false);
    }

    @AfterEach
    void release() {
        memory.close();
    }

    private Path write(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    @Test
    void loadsElfSegmentsAndFindsThePvhEntry() throws IOException {
        byte[] code = {1, 2, 3, 4, 5, 6, 7, 8};
        memory.fill(GuestAddress.of(0x200000 + code.length), 4096, (byte) 0x55);
        LoadedKernel k = KernelLoader.load(write("k.elf", TestElf.pvh(0x200000, code, 0x200004).build()), memory);
        assertThat(k.protocol()).isEqualTo(LoadedKernel.BootProtocol.PVH);
        assertThat(k.entry()).isEqualTo(GuestAddress.of(0x200004));
        byte[] loaded = new byte[8];
        memory.read(GuestAddress.of(0x200000), loaded);
        assertThat(loaded).isEqualTo(code);
        assertThat(memory.readByte(GuestAddress.of(0x200000 + code.length))).as("bss is zeroed").isZero();
        assertThat(k.end()).isEqualTo(GuestAddress.of(0x200000 + code.length + 4096));
    }

    @Test
    void entersElfWithoutPvhNoteThroughTheLinux64Protocol() throws IOException {
        TestElf elf = TestElf.pvh(0x200000, new byte[64], 0);
        elf.segments.remove(1);
        elf.entry = 0x200010;
        LoadedKernel k = KernelLoader.load(write("k.elf", elf.build()), memory);
        assertThat(k.protocol()).isEqualTo(LoadedKernel.BootProtocol.LINUX_64);
        assertThat(k.entry().value()).isEqualTo(0x200010);
    }

    @Test
    void rejectsMissingEmptyDirectoryAndUnknownFiles() throws IOException {
        assertThatThrownBy(() -> KernelLoader.load(dir.resolve("nope"), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> KernelLoader.load(write("empty", new byte[0]), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("is empty");
        assertThatThrownBy(() -> KernelLoader.load(dir, memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("is a directory");
        assertThatThrownBy(() -> KernelLoader.load(write("text", "#!/bin/sh\necho hi\n".getBytes()), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("neither an ELF vmlinux nor a bzImage");
    }

    @Test
    void rejectsElfForOtherMachinesAndClasses() throws IOException {
        TestElf arm = TestElf.pvh(0x200000, new byte[16], 0x200000);
        arm.machine = 183;
        assertThatThrownBy(() -> KernelLoader.load(write("arm", arm.build()), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("not x86-64");
        TestElf elf32 = TestElf.pvh(0x200000, new byte[16], 0x200000);
        elf32.elfClass = 1;
        assertThatThrownBy(() -> KernelLoader.load(write("elf32", elf32.build()), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("not a 64-bit ELF");
    }

    @Test
    void rejectsTruncatedElf() throws IOException {
        byte[] good = TestElf.pvh(0x200000, new byte[4096], 0x200000).build();
        assertThatThrownBy(() -> KernelLoader.load(write("short", Arrays.copyOf(good, 40)), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("truncated ELF header");
        assertThatThrownBy(() -> KernelLoader.load(write("cut", Arrays.copyOf(good, 0x1000 + 100)), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("outside the file");
    }

    @Test
    void rejectsSegmentsBelowOneMibOrBeyondGuestMemory() throws IOException {
        assertThatThrownBy(() -> KernelLoader.load(write("low", TestElf.pvh(0x7000, new byte[16], 0x7000).build()), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("below 1 MiB");
        assertThatThrownBy(() -> KernelLoader.load(write("high",
                TestElf.pvh(0x8000000, new byte[16], 0x8000000).build()), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("give the guest more memory");
    }

    @Test
    void rejectsSegmentWhoseFileSizeExceedsMemorySize() throws IOException {
        TestElf elf = TestElf.pvh(0x200000, new byte[64], 0x200000);
        TestElf.Segment s = elf.segments.get(0);
        elf.segments.set(0, new TestElf.Segment(1, s.offset(), s.paddr(), 64, 32));
        assertThatThrownBy(() -> KernelLoader.load(write("fs", elf.build()), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("above its memory size");
    }

    @Test
    void rejectsPvhEntryOutsideTheImage() throws IOException {
        assertThatThrownBy(() -> KernelLoader.load(write("e", TestElf.pvh(0x200000, new byte[16], 0x900000).build()), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("outside the loaded image");
    }

    static byte[] bzImage(int protocol, int xloadflags, int payloadSize, long prefAddress) {
        ByteBuffer b = ByteBuffer.allocate(1024 + payloadSize).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) 1);
        b.putInt(0x1f4, (payloadSize + 15) / 16);
        b.putShort(0x1fe, (short) 0xaa55);
        b.put(0x200, (byte) 0xeb).put(0x201, (byte) 0x66);
        b.putInt(0x202, 0x53726448);
        b.putShort(0x206, (short) protocol);
        b.put(0x211, (byte) 1);
        b.putInt(0x22c, 0x7fffffff);
        b.putShort(0x236, (short) xloadflags);
        b.putInt(0x238, 2047);
        b.putLong(0x258, prefAddress);
        b.putInt(0x260, payloadSize + 4096);
        for (int i = 0; i < payloadSize; i++) {
            b.put(1024 + i, (byte) (i * 7));
        }
        return b.array();
    }

    @Test
    void loadsBzImageAtItsPreferredAddressWithEntryAt0x200() throws IOException {
        LoadedKernel k = KernelLoader.load(write("bz", bzImage(0x020f, 1, 8192, 0x1000000)), memory);
        assertThat(k.protocol()).isEqualTo(LoadedKernel.BootProtocol.LINUX_64);
        assertThat(k.entry().value()).isEqualTo(0x1000200);
        assertThat(k.cmdlineMax()).isEqualTo(2047);
        assertThat(k.setupHeader()).hasSize(0x268 - 0x1f1);
        assertThat(memory.readByte(GuestAddress.of(0x1000000 + 100))).isEqualTo((byte) 700);
    }

    @Test
    void rejectsBzImagesWithout64BitEntryOrTooOld() throws IOException {
        assertThatThrownBy(() -> KernelLoader.load(write("old", bzImage(0x0205, 1, 512, 0x1000000)), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("boot protocol 2.05");
        assertThatThrownBy(() -> KernelLoader.load(write("no64", bzImage(0x020f, 0, 512, 0x1000000)), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("no 64-bit entry");
        byte[] cut = Arrays.copyOf(bzImage(0x020f, 1, 8192, 0x1000000), 4096);
        assertThatThrownBy(() -> KernelLoader.load(write("cut", cut), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("truncated");
    }

    @Test
    void rejectsBzImageThatDoesNotFitInGuestMemory() throws IOException {
        assertThatThrownBy(() -> KernelLoader.load(write("big", bzImage(0x020f, 1, 512, 0x8000000)), memory))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("give the guest more memory");
    }

    @Test
    void placesInitrdAtTheTopOfLowMemoryAboveTheKernel() throws IOException {
        LoadedKernel k = KernelLoader.load(write("k", TestElf.pvh(0x200000, new byte[16], 0x200000).build()), memory);
        byte[] initrd = new byte[10000];
        Arrays.fill(initrd, (byte) 9);
        InitrdRange range = InitrdLoader.load(write("initrd", initrd), memory, k);
        assertThat(range.size()).isEqualTo(10000);
        assertThat(range.start().value() % 4096).isZero();
        assertThat(range.start().value() + range.size()).isLessThanOrEqualTo(64L << 20);
        assertThat(memory.readByte(range.start().add(9999))).isEqualTo((byte) 9);
    }

    @Test
    void rejectsInitrdThatDoesNotFit() throws IOException {
        LoadedKernel k = KernelLoader.load(write("k", TestElf.pvh(0x200000, new byte[16], 0x200000).build()), memory);
        Path huge = dir.resolve("huge");
        try (var f = java.nio.channels.FileChannel.open(huge, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.wrap(new byte[1]), 80L << 20);
        }
        assertThatThrownBy(() -> InitrdLoader.load(huge, memory, k))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("does not fit");
        assertThatThrownBy(() -> InitrdLoader.load(dir.resolve("missing"), memory, k))
                .isInstanceOf(KernelLoadException.class).hasMessageContaining("initrd file");
    }
}
