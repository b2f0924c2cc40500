package io.stratus.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostFileTest {

    @Test
    void vectoredReadFillsEveryBufferAndZeroesPastTheEnd(@TempDir Path dir) throws Exception {
        byte[] content = new byte[1000];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i % 251);
        }
        Path file = dir.resolve("f");
        Files.write(file, content);
        Memory a = new Memory(300);
        Memory b = new Memory(500);
        Memory c = new Memory(700);
        c.setMemory(0, 700, (byte) 0x77);
        try (HostFile f = HostFile.open(file, false)) {
            f.readVectored(new long[] {Pointer.nativeValue(a), Pointer.nativeValue(b), Pointer.nativeValue(c)},
                    new long[] {300, 500, 700}, 3, 0);
        }
        assertThat(a.getByteArray(0, 300)).isEqualTo(java.util.Arrays.copyOfRange(content, 0, 300));
        assertThat(b.getByteArray(0, 500)).isEqualTo(java.util.Arrays.copyOfRange(content, 300, 800));
        assertThat(c.getByteArray(0, 200)).isEqualTo(java.util.Arrays.copyOfRange(content, 800, 1000));
        assertThat(c.getByteArray(200, 500)).containsOnly(0);
    }

    @Test
    void vectoredWriteGathersBuffersInOrder(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("g");
        Files.write(file, new byte[64]);
        Memory a = new Memory(3);
        a.write(0, new byte[] {1, 2, 3}, 0, 3);
        Memory b = new Memory(2);
        b.write(0, new byte[] {4, 5}, 0, 2);
        try (HostFile f = HostFile.open(file, true)) {
            f.writeVectored(new long[] {Pointer.nativeValue(a), Pointer.nativeValue(b)}, new long[] {3, 2}, 2, 10);
            f.sync();
        }
        byte[] got = Files.readAllBytes(file);
        assertThat(java.util.Arrays.copyOfRange(got, 10, 15)).containsExactly(1, 2, 3, 4, 5);
        assertThat(got).hasSize(64);
    }

    @Test
    void locksConflictBetweenTwoOpensInOneProcess(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("h");
        Files.write(file, new byte[1]);
        try (HostFile writer = HostFile.open(file, true); HostFile reader = HostFile.open(file, false);
             HostFile reader2 = HostFile.open(file, false)) {
            assertThat(writer.tryLock(false)).isTrue();
            assertThat(reader.tryLock(true)).isFalse();
            writer.close();
            assertThat(reader.tryLock(true)).isTrue();
            assertThat(reader2.tryLock(true)).as("shared locks coexist").isTrue();
        }
    }
}
