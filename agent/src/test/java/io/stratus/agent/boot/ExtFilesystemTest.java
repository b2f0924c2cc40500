package io.stratus.agent.boot;

import static io.stratus.agent.boot.DiskBuilder.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files of an ext4 filesystem made by mkfs.ext4, read through debugfs: symbolic links of every
 * kind (relative, absolute, long ones stored in a block, ones that climb above the root), loops
 * and chains too long, things that are not files, and paths this reader will not pass on.
 */
class ExtFilesystemTest {
    @TempDir
    Path dir;
    private ExtFilesystem fs;
    private RawDisk disk;

    @BeforeEach
    void filesystem() throws Exception {
        String debugfs = DiskBuilder.tool("debugfs", "e2fsprogs");
        Path root = Files.createDirectories(dir.resolve("root"));
        Files.createDirectories(root.resolve("boot/dir"));
        Files.writeString(root.resolve("boot/vmlinuz-1"), "kernel one");
        Files.createSymbolicLink(root.resolve("vmlinuz"), Path.of("boot/vmlinuz-1"));
        Files.createSymbolicLink(root.resolve("absolute"), Path.of("/boot/vmlinuz-1"));
        Files.createSymbolicLink(root.resolve("climbs"), Path.of("../../../boot/./vmlinuz-1"));
        String longName = "k".repeat(120);
        Files.writeString(root.resolve("boot").resolve(longName), "kernel with a long name");
        Files.createSymbolicLink(root.resolve("slow"), Path.of("boot/" + longName));
        Files.createSymbolicLink(root.resolve("loop1"), Path.of("loop2"));
        Files.createSymbolicLink(root.resolve("loop2"), Path.of("loop1"));
        for (int i = 0; i <= ExtFilesystem.MAX_LINKS; i++) {
            Files.createSymbolicLink(root.resolve("chain" + i), Path.of(i == ExtFilesystem.MAX_LINKS ? "boot/vmlinuz-1"
                    : "chain" + (i + 1)));
        }
        Files.createSymbolicLink(root.resolve("dangling"), Path.of("boot/nothing"));
        Path image = dir.resolve("fs.raw");
        Files.write(image, new byte[0]);
        DiskBuilder.ext4(image, 0, 8 * MIB, root);
        disk = RawDisk.open(image);
        Partition whole = new Partition(0, 0, disk.size(), "no partition table");
        ExtFilesystem.Superblock sb = ExtFilesystem.probe(disk, whole).orElseThrow();
        fs = ExtFilesystem.open(debugfs, disk, whole, sb, Files.createDirectories(dir.resolve("scratch")));
    }

    private String content(String path) throws Exception {
        ExtFilesystem.File f = fs.find(path).orElseThrow();
        return new String(fs.read(f.path(), 1 << 20), StandardCharsets.UTF_8);
    }

    @Test
    void followsRelativeAbsoluteAndLongLinks() throws Exception {
        assertThat(fs.find("/vmlinuz")).contains(new ExtFilesystem.File("/boot/vmlinuz-1", 10));
        assertThat(content("/absolute")).isEqualTo("kernel one");
        assertThat(content("/slow")).isEqualTo("kernel with a long name");
        assertThat(content("/chain1")).as("8 links").isEqualTo("kernel one");
    }

    @Test
    void aLinkThatClimbsAboveTheRootStaysOnTheFilesystem() throws Exception {
        assertThat(fs.find("/climbs")).contains(new ExtFilesystem.File("/boot/vmlinuz-1", 10));
        assertThat(fs.find("/../../boot/vmlinuz-1")).isPresent();
    }

    @Test
    void loopsAndChainsLongerThanTheLimitAreRefused() {
        assertThatThrownBy(() -> fs.find("/loop1")).isInstanceOf(NotBootableException.class)
                .hasMessageContaining("/loop1 is a symbolic link loop (more than 8 links)");
        assertThatThrownBy(() -> fs.find("/chain0")).isInstanceOf(NotBootableException.class)
                .hasMessageContaining("symbolic link loop");
        assertThatThrownBy(() -> fs.find("/loop1/vmlinuz")).isInstanceOf(NotBootableException.class)
                .hasMessageContaining("goes through a symbolic link loop");
    }

    @Test
    void whatIsMissingIsEmptyAndWhatIsNotAFileIsRefused() throws Exception {
        assertThat(fs.find("/boot/vmlinuz-2")).isEqualTo(Optional.empty());
        assertThat(fs.find("/dangling")).isEqualTo(Optional.empty());
        assertThat(fs.find("/nowhere/vmlinuz")).isEqualTo(Optional.empty());
        assertThatThrownBy(() -> fs.find("/boot/dir")).isInstanceOf(NotBootableException.class)
                .hasMessageContaining("/boot/dir is a directory, not a file");
    }

    @Test
    void aFileLargerThanAllowedIsRefusedBeforeItIsRead() {
        assertThatThrownBy(() -> fs.read("/boot/vmlinuz-1", 9)).isInstanceOf(NotBootableException.class)
                .hasMessageContaining("/boot/vmlinuz-1 is 10 bytes, more than the 9 allowed");
    }

    @Test
    void pathsWithQuotesOrControlCharactersAreNotPassedToDebugfs() {
        for (String bad : new String[] {"/boot/\"x", "/boot/a\nstat /", "/boot/\\x", "/b\u00f6ot"}) {
            assertThatThrownBy(() -> fs.find(bad)).as(bad).isInstanceOf(NotBootableException.class)
                    .hasMessageContaining("has characters other than");
        }
    }

    @org.junit.jupiter.api.AfterEach
    void close() {
        if (fs != null) {
            fs.close();
        }
        if (disk != null) {
            disk.close();
        }
    }
}
