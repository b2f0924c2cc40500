package io.stratus.kvm.persist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class StateReaderTest {
    @Test
    void readsBackWhatTheWriterWrote() {
        byte[] bytes = new StateWriter().writeInt(-7).writeLong(1L << 40).writeBoolean(true).writeByte(0xfe)
                .writeUTF("vda").writeBlob(new byte[] {1, 2}).writeCount(3).toByteArray();
        StateReader in = new StateReader(bytes);
        assertThat(in.readInt()).isEqualTo(-7);
        assertThat(in.readLong()).isEqualTo(1L << 40);
        assertThat(in.readBoolean()).isTrue();
        assertThat(in.readByte()).isEqualTo((byte) 0xfe);
        assertThat(in.readUTF()).isEqualTo("vda");
        assertThat(in.readBlob()).containsExactly(1, 2);
        assertThat(in.readCount()).isEqualTo(3);
        assertThat(in.remaining()).isZero();
    }

    @Test
    void refusesABlobClaimingMoreThanTheBoundBeforeAllocatingIt() {
        StateReader in = new StateReader(new StateWriter().writeInt(StateReader.MAX_BLOB + 1).toByteArray());
        assertThatThrownBy(in::readBlob).isInstanceOf(StateFormatException.class).hasMessageContaining("claims");
    }

    @Test
    void refusesANegativeOrHugeCount() {
        assertThatThrownBy(() -> new StateReader(new StateWriter().writeInt(-1).toByteArray()).readCount())
                .isInstanceOf(StateFormatException.class);
        assertThatThrownBy(() -> new StateReader(new StateWriter().writeInt(StateReader.MAX_COUNT + 1).toByteArray())
                .readCount()).isInstanceOf(StateFormatException.class);
    }

    @Test
    void aShortInputIsTruncated() {
        StateReader in = new StateReader(new byte[] {0, 0, 0, 4, 1});
        assertThatThrownBy(in::readBlob).isInstanceOf(StateFormatException.Truncated.class);
    }
}
