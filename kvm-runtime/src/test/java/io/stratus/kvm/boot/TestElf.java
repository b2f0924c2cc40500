package io.stratus.kvm.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** Builds small ELF64 images for loader tests, well-formed or deliberately broken. */
final class TestElf {
    record Segment(int type, long offset, long paddr, long filesz, long memsz) {
    }

    int machine = 62;
    byte elfClass = 2;
    long entry = 0x100000;
    final List<Segment> segments = new ArrayList<>();
    byte[] body = new byte[0];
    long bodyOffset = 0x1000;

    /** An image with one loadable segment of {@code data} at {@code paddr} and a PVH note for {@code pvhEntry}. */
    static TestElf pvh(long paddr, byte[] data, long pvhEntry) {
        TestElf elf = new TestElf();
        byte[] note = note("Xen", 18, le32(pvhEntry));
        elf.body = new byte[data.length + note.length];
        System.arraycopy(data, 0, elf.body, 0, data.length);
        System.arraycopy(note, 0, elf.body, data.length, note.length);
        elf.segments.add(new Segment(1, elf.bodyOffset, paddr, data.length, data.length + 4096));
        elf.segments.add(new Segment(4, elf.bodyOffset + data.length, 0, note.length, note.length));
        elf.entry = paddr;
        return elf;
    }

    static byte[] note(String name, int type, byte[] desc) {
        byte[] n = (name + "\0").getBytes();
        int nameLen = (n.length + 3) & ~3;
        int descLen = (desc.length + 3) & ~3;
        ByteBuffer b = ByteBuffer.allocate(12 + nameLen + descLen).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(n.length).putInt(desc.length).putInt(type);
        b.put(n);
        b.position(12 + nameLen);
        b.put(desc);
        return b.array();
    }

    static byte[] le32(long v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array();
    }

    byte[] build() {
        int phoff = 64;
        int size = (int) Math.max(bodyOffset + body.length, phoff + 56L * segments.size());
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', elfClass, 1, 1});
        b.putShort(16, (short) 2);
        b.putShort(18, (short) machine);
        b.putInt(20, 1);
        b.putLong(24, entry);
        b.putLong(32, phoff);
        b.putShort(52, (short) 64);
        b.putShort(54, (short) 56);
        b.putShort(56, (short) segments.size());
        for (int i = 0; i < segments.size(); i++) {
            Segment s = segments.get(i);
            int o = phoff + 56 * i;
            b.putInt(o, s.type());
            b.putInt(o + 4, 7);
            b.putLong(o + 8, s.offset());
            b.putLong(o + 16, s.paddr());
            b.putLong(o + 24, s.paddr());
            b.putLong(o + 32, s.filesz());
            b.putLong(o + 40, s.memsz());
            b.putLong(o + 48, 4096);
        }
        b.put((int) bodyOffset, body);
        return b.array();
    }
}
