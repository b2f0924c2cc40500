package io.stratus.kvm.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

class BootStructuresTest {

    @Test
    void memoryMapReservesBiosAreaAndSplitsAroundTheMmioHole() {
        try (GuestMemory small = GuestMemory.x86(256L << 20, false);
             GuestMemory big = GuestMemory.x86(4L << 30, false)) {
            List<E820Entry> map = MemoryMap.of(small);
            assertThat(map).containsExactly(
                    new E820Entry(0, 0x9fc00, E820Entry.RAM),
                    new E820Entry(0x9fc00, 0x400, E820Entry.RESERVED),
                    new E820Entry(0xe0000, 0x20000, E820Entry.RESERVED),
                    new E820Entry(0x100000, (256L << 20) - 0x100000, E820Entry.RAM));
            List<E820Entry> bigMap = MemoryMap.of(big);
            assertThat(bigMap.get(3)).isEqualTo(new E820Entry(0x100000, 0xC000_0000L - 0x100000, E820Entry.RAM));
            assertThat(bigMap.get(4)).isEqualTo(new E820Entry(0x1_0000_0000L, 1L << 30, E820Entry.RAM));
        }
    }

    @Test
    void bootParamsCarryHeaderCmdlineInitrdRsdpAndE820() {
        byte[] header = new byte[0x268 - 0x1f1];
        header[0x211 - 0x1f1] = 0x01;
        List<E820Entry> e820 = List.of(new E820Entry(0, 0x9fc00, 1), new E820Entry(0x100000, 0x7f00000, 1));
        byte[] zp = LinuxBootParams.build(header, e820, GuestAddress.of(0x20000),
                new InitrdRange(GuestAddress.of(0x7000000), 12345), GuestAddress.of(0xe0000));
        ByteBuffer b = ByteBuffer.wrap(zp).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.get(0x210)).as("type_of_loader").isEqualTo((byte) 0xff);
        assertThat(b.get(0x211) & 0x81).as("LOADED_HIGH | CAN_USE_HEAP").isEqualTo(0x81);
        assertThat(b.getInt(0x228)).isEqualTo(0x20000);
        assertThat(b.getInt(0x218)).isEqualTo(0x7000000);
        assertThat(b.getInt(0x21c)).isEqualTo(12345);
        assertThat(b.getLong(0x070)).isEqualTo(0xe0000);
        assertThat(b.get(0x1e8)).isEqualTo((byte) 2);
        assertThat(b.getLong(0x2d0 + 20)).isEqualTo(0x100000);
        assertThat(b.getLong(0x2d0 + 28)).isEqualTo(0x7f00000);
        assertThat(b.getInt(0x2d0 + 36)).isEqualTo(1);
    }

    @Test
    void elfBootParamsGetAMinimalHeader() {
        byte[] zp = LinuxBootParams.build(new byte[0], List.of(new E820Entry(0, 4096, 1)), GuestAddress.of(0x20000),
                null, null);
        ByteBuffer b = ByteBuffer.wrap(zp).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getShort(0x1fe)).isEqualTo((short) 0xaa55);
        assertThat(b.getInt(0x202)).isEqualTo(0x53726448);
        assertThat(b.getInt(0x218)).as("no initrd").isZero();
    }

    @Test
    void pvhStartInfoPointsAtCmdlineModuleMemmapAndRsdp() {
        try (GuestMemory memory = GuestMemory.x86(64L << 20, false)) {
            List<E820Entry> e820 = MemoryMap.of(memory);
            GuestAddress info = PvhStartInfo.write(memory, e820, GuestAddress.of(0x20000),
                    new InitrdRange(GuestAddress.of(0x3000000), 777), GuestAddress.of(0xe0000));
            assertThat(memory.readInt(info)).isEqualTo(PvhStartInfo.MAGIC);
            assertThat(memory.readInt(info.add(4))).isEqualTo(1);
            assertThat(memory.readInt(info.add(12))).as("nr_modules").isEqualTo(1);
            GuestAddress mod = GuestAddress.of(memory.readLong(info.add(16)));
            assertThat(memory.readLong(mod)).isEqualTo(0x3000000);
            assertThat(memory.readLong(mod.add(8))).isEqualTo(777);
            assertThat(memory.readLong(info.add(24))).isEqualTo(0x20000);
            assertThat(memory.readLong(info.add(32))).isEqualTo(0xe0000);
            GuestAddress map = GuestAddress.of(memory.readLong(info.add(40)));
            assertThat(memory.readInt(info.add(48))).isEqualTo(e820.size());
            assertThat(memory.readLong(map.add(24 * 3))).isEqualTo(0x100000);
            assertThat(memory.readInt(map.add(24 * 3 + 16))).isEqualTo(E820Entry.RAM);
        }
    }

    @Test
    void mpTableChecksumsAndListsProcessorsIoapicAndIrqs() {
        byte[] t = MpTable.build(4, 0xf0000);
        ByteBuffer b = ByteBuffer.wrap(t).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new String(t, 0, 4)).isEqualTo("_MP_");
        assertThat(b.getInt(4)).isEqualTo(0xf0010);
        assertThat(sum(t, 0, 16)).isZero();
        assertThat(new String(t, 16, 4)).isEqualTo("PCMP");
        int length = b.getShort(16 + 4);
        assertThat(16 + length).isEqualTo(t.length);
        assertThat(sum(t, 16, length)).isZero();
        assertThat(b.getShort(16 + 34)).as("entries").isEqualTo((short) (4 + 1 + 1 + 24 + 2));
        int first = 16 + 44;
        for (int cpu = 0; cpu < 4; cpu++) {
            assertThat(t[first + 20 * cpu]).isZero();
            assertThat(t[first + 20 * cpu + 1]).isEqualTo((byte) cpu);
            assertThat(t[first + 20 * cpu + 3] & 2).as("BSP flag").isEqualTo(cpu == 0 ? 2 : 0);
        }
        assertThatThrownBy(() -> MpTable.build(0, 0xf0000)).isInstanceOf(IllegalArgumentException.class);
    }

    private static int sum(byte[] b, int offset, int length) {
        int s = 0;
        for (int i = offset; i < offset + length; i++) {
            s += b[i];
        }
        return s & 0xff;
    }

    @Test
    void cmdlineKeepsUserChoicesAndValidates() {
        KernelCmdline c = new KernelCmdline(40).append("console=hvc0  quiet").addIfAbsent("console", "ttyS0")
                .addIfAbsent("panic", "-1");
        assertThat(c.toString()).isEqualTo("console=hvc0 quiet panic=-1");
        assertThat(c.has("quiet")).isTrue();
        assertThat(c.hasWord("panic=-1")).isTrue();
        assertThat(c.toBytes()).endsWith(new byte[] {'1', 0});
        assertThatThrownBy(() -> c.append("this-parameter-is-far-too-long-to-fit"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("40 bytes");
        assertThatThrownBy(() -> new KernelCmdline(100).append("caf\u00e9"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("non-ASCII");
        assertThatThrownBy(() -> new KernelCmdline(100).append("a\nb"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new KernelCmdline(100).append("x=\"open"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("quote");
        assertThat(new KernelCmdline(100).append("a=\"b c\" d").toString()).isEqualTo("a=\"b c\" d");
        // A whole-disk guest's line: the quotes around the whole word keep "OpenStack Nova" one value.
        KernelCmdline disk = new KernelCmdline(100).append("root=/dev/vda1 ro \"product_name=OpenStack Nova\"");
        disk.addIfAbsent("console", "ttyS0");
        assertThat(disk.toString()).isEqualTo("root=/dev/vda1 ro \"product_name=OpenStack Nova\" console=ttyS0");
    }

    @Test
    void linuxEntryIdentityMapsFourGibAndEntersLongMode() {
        try (GuestMemory memory = GuestMemory.x86(64L << 20, false)) {
            io.stratus.kvm.sys.Segment nul = new io.stratus.kvm.sys.Segment(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
            io.stratus.kvm.sys.DescriptorTable none = new io.stratus.kvm.sys.DescriptorTable(0, 0);
            io.stratus.kvm.sys.SpecialRegisters reset = new io.stratus.kvm.sys.SpecialRegisters(nul, nul, nul, nul,
                    nul, nul, nul, nul, none, none, 0x60000010L, 0, 0, 0, 0, 0, 0xfee00900L, new long[4]);
            EntryState.Registers r = EntryState.linux64(memory, reset, GuestAddress.of(0x1000200),
                    GuestAddress.of(0x7000));
            assertThat(r.regs().rip()).isEqualTo(0x1000200);
            assertThat(r.regs().rsi()).isEqualTo(0x7000);
            assertThat(r.sregs().efer() & 0x500).isEqualTo(0x500);
            assertThat(r.sregs().cr0() & 0x80000001L).isEqualTo(0x80000001L);
            assertThat(r.sregs().cs().l()).isEqualTo(1);
            assertThat(r.sregs().cs().selector()).isEqualTo(0x10);
            assertThat(r.sregs().apicBase()).isEqualTo(0xfee00900L);
            // The page-directory entry covering 3 GiB + 2 MiB maps it 1:1.
            long pde = memory.readLong(GuestAddress.of(BootLayout.PD + 4096L * 3 + 8));
            assertThat(pde).isEqualTo(0xC020_0000L | 0x83);
            EntryState.Registers p = EntryState.pvh(memory, reset, GuestAddress.of(0x100000), GuestAddress.of(0x6000));
            assertThat(p.regs().rbx()).isEqualTo(0x6000);
            assertThat(p.sregs().cs().db()).isEqualTo(1);
            assertThat(p.sregs().cs().l()).isZero();
            assertThat(p.sregs().cr0() & 0x80000000L).as("paging off").isZero();
            assertThat(p.sregs().tr().type()).as("busy TSS").isEqualTo(0xb);
        }
    }
}
