package io.stratus.kvm.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;

class ElfNotePropertyTest {

    @Property(tries = 2000)
    void noteWalkerNeverReadsOutsideTheSegment(@ForAll @Size(max = 256) byte[] notes) {
        ByteBuffer b = ByteBuffer.wrap(notes).order(ByteOrder.LITTLE_ENDIAN);
        Long entry = ElfLoader.findPvhEntry(b);
        if (entry != null) {
            assertThat(entry).isBetween(0L, 0xffffffffL);
        }
    }

    @Property(tries = 500)
    void findsEntryBehindArbitraryOtherNotes(@ForAll @Size(max = 64) byte[] otherDesc, @ForAll int entry) {
        byte[] other = TestElf.note("GNU", 3, otherDesc);
        byte[] pvh = TestElf.note("Xen", 18, TestElf.le32(entry));
        ByteBuffer b = ByteBuffer.allocate(other.length + pvh.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(other).put(pvh).flip();
        assertThat(ElfLoader.findPvhEntry(b)).isEqualTo(entry & 0xffffffffL);
    }
}
