package io.stratus.agent.boot;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Finds the boot of a whole disk: its partitions in table order, on each ext filesystem GRUB's
 * grub.cfg (the first found wins; its default entry's kernel and initrds are taken from the same
 * filesystem), and without any grub.cfg the first filesystem with {@code /boot/vmlinuz} (and
 * {@code /boot/initrd.img}) or {@code /vmlinuz} (and {@code /initrd.img}), booted with
 * {@code root=UUID=<its UUID> ro console=ttyS0}. The kernel and initrd are written to an output
 * directory, within their size limits; the kernel must be a bzImage or an ELF file.
 */
final class BootSearch {
    static final long MAX_KERNEL = 64L << 20;
    static final long MAX_INITRD = 1L << 30;
    /** Filesystems searched at most: each costs a few debugfs runs (and, on a non-raw image, a copy). */
    static final int MAX_FILESYSTEMS = 16;
    /** The longest command line found on a disk that is passed on (x86's limit is 2048 with the VMM's own). */
    static final int MAX_CMDLINE = 1536;
    static final List<String> GRUB_CONFIGS = List.of("/boot/grub/grub.cfg", "/grub/grub.cfg", "/boot/grub2/grub.cfg",
            "/grub2/grub.cfg");
    private static final byte[] ELF = {0x7f, 'E', 'L', 'F'};
    private static final byte[] BZIMAGE = {'H', 'd', 'r', 'S'};
    private static final int BZIMAGE_MAGIC_AT = 0x202;

    /** Where the boot was found and its command line; the kernel (and initrd) are in the output directory. */
    record Found(String cmdline, String origin) {
    }

    private final String debugfs;
    private final DiskReader disk;
    private final Path scratch;
    private final Path out;

    private BootSearch(String debugfs, DiskReader disk, Path scratch, Path out) {
        this.debugfs = debugfs;
        this.disk = disk;
        this.scratch = scratch;
        this.out = out;
    }

    /**
     * Finds the boot of {@code disk} and writes {@link BootFiles#KERNEL} (and {@link BootFiles#INITRD})
     * into {@code out}, using {@code scratch} for work files.
     *
     * @throws NotBootableException there is no boot to find, or what is found is refused
     */
    static Found inspect(String debugfs, DiskReader disk, Path scratch, Path out) throws IOException {
        return new BootSearch(debugfs, disk, scratch, out).search();
    }

    private Found search() throws IOException {
        List<Partition> partitions = PartitionTable.read(disk);
        List<String> notes = new ArrayList<>();
        Partition fallback = null;
        ExtFilesystem.Superblock fallbackSuperblock = null;
        int searched = 0;
        for (Partition p : partitions) {
            if (p.notSearched().isPresent()) {
                notes.add(p.describe() + ": " + p.notSearched().get());
                continue;
            }
            Optional<ExtFilesystem.Superblock> sb = ExtFilesystem.probe(disk, p);
            if (sb.isEmpty()) {
                notes.add(p.describe() + ": unknown filesystem" + (p.number() == 0 ? "" : " (" + p.type() + ")"));
                continue;
            }
            if (++searched > MAX_FILESYSTEMS) {
                notes.add("more than " + MAX_FILESYSTEMS + " filesystems: the rest are not searched");
                break;
            }
            try (ExtFilesystem fs = ExtFilesystem.open(debugfs, disk, p, sb.get(), scratch)) {
                for (String config : GRUB_CONFIGS) {
                    Optional<ExtFilesystem.File> cfg = fs.find(config);
                    if (cfg.isPresent()) {
                        return fromGrub(fs, cfg.get());
                    }
                }
                boolean kernel = plainKernel(fs).isPresent();
                if (kernel && fallback == null) {
                    fallback = p;
                    fallbackSuperblock = sb.get();
                }
                notes.add(fs.describe() + ": no grub.cfg" + (kernel ? "" : " and no /boot/vmlinuz or /vmlinuz"));
            }
        }
        if (fallback != null) {
            try (ExtFilesystem fs = ExtFilesystem.open(debugfs, disk, fallback, fallbackSuperblock, scratch)) {
                return fromPlainFiles(fs);
            }
        }
        if (partitions.size() == 1 && partitions.get(0).number() == 0 && searched == 0) {
            throw new NotBootableException("no partition table and no filesystem (an ext2/3/4 filesystem or a disk"
                    + " with a GPT or MBR partition table is needed)");
        }
        throw new NotBootableException("no grub.cfg and no /boot/vmlinuz or /vmlinuz on the disk: "
                + String.join("; ", notes));
    }

    private Found fromGrub(ExtFilesystem fs, ExtFilesystem.File cfg) throws IOException {
        String where = fs.describe() + " " + cfg.path();
        GrubConfig.Entry entry;
        try {
            String text = new String(fs.read(cfg.path(), GrubConfig.MAX_BYTES), StandardCharsets.UTF_8);
            entry = GrubConfig.defaultEntry(text);
        } catch (NotBootableException e) {
            throw new NotBootableException(where + ": " + e.getMessage());
        }
        String names = "grub.cfg default entry '" + entry.title() + "' names ";
        extract(fs, entry.kernel(), entry.initrds(), names);
        return new Found(commandLine(entry.args()), where + ", entry '" + entry.title() + "'");
    }

    private Optional<String> plainKernel(ExtFilesystem fs) throws IOException {
        for (String kernel : List.of("/boot/vmlinuz", "/vmlinuz")) {
            if (fs.find(kernel).isPresent()) {
                return Optional.of(kernel);
            }
        }
        return Optional.empty();
    }

    private Found fromPlainFiles(ExtFilesystem fs) throws IOException {
        String kernel = plainKernel(fs).orElseThrow();
        String initrd = kernel.equals("/boot/vmlinuz") ? "/boot/initrd.img" : "/initrd.img";
        List<String> initrds = fs.find(initrd).isPresent() ? List.of(initrd) : List.of();
        extract(fs, kernel, initrds, "with no grub.cfg, the boot names ");
        return new Found("root=UUID=" + fs.superblock().uuid() + " ro console=ttyS0", fs.describe() + " " + kernel
                + (initrds.isEmpty() ? "" : " and " + initrd) + ", no grub.cfg");
    }

    /** Writes the kernel and the initrds (concatenated, as GRUB loads several) into the output directory. */
    private void extract(ExtFilesystem fs, String kernelPath, List<String> initrdPaths, String names)
            throws IOException {
        ExtFilesystem.File kernel = fs.find(kernelPath).orElseThrow(() -> new NotBootableException(fs.describe()
                + ": " + names + kernelPath + " which is not on the disk"));
        Path kernelFile = out.resolve(BootFiles.KERNEL);
        fs.dump(kernel.path(), MAX_KERNEL, kernelFile);
        checkKernel(fs, kernelPath, kernelFile);
        long total = 0;
        Path initrdFile = out.resolve(BootFiles.INITRD);
        for (String path : initrdPaths) {
            ExtFilesystem.File initrd = fs.find(path).orElseThrow(() -> new NotBootableException(fs.describe()
                    + ": " + names + path + " which is not on the disk"));
            total += initrd.size();
            if (total > MAX_INITRD) {
                throw new NotBootableException(fs.describe() + ": the initrd " + path + " makes " + total
                        + " bytes of initrd, more than the " + MAX_INITRD + " allowed");
            }
            if (initrdPaths.size() == 1) {
                fs.dump(initrd.path(), MAX_INITRD, initrdFile);
                continue;
            }
            Path part = Files.createTempFile(scratch, "initrd-", ".part");
            try {
                fs.dump(initrd.path(), MAX_INITRD, part);
                try (FileChannel to = FileChannel.open(initrdFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.APPEND); FileChannel from = FileChannel.open(part)) {
                    long done = 0;
                    while (done < from.size()) {
                        done += from.transferTo(done, from.size() - done, to);
                    }
                }
            } finally {
                Files.deleteIfExists(part);
            }
        }
    }

    private static void checkKernel(ExtFilesystem fs, String path, Path file) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(BZIMAGE_MAGIC_AT + BZIMAGE.length);
        }
        boolean elf = head.length >= ELF.length && Arrays.equals(head, 0, ELF.length, ELF, 0, ELF.length);
        boolean bzImage = head.length == BZIMAGE_MAGIC_AT + BZIMAGE.length
                && Arrays.equals(head, BZIMAGE_MAGIC_AT, head.length, BZIMAGE, 0, BZIMAGE.length);
        if (!elf && !bzImage) {
            throw new NotBootableException(fs.describe() + ": the kernel " + path + " is neither a bzImage (\"HdrS\""
                    + " at 0x202) nor an ELF file");
        }
    }

    /**
     * The kernel command line GRUB makes of a linux command's arguments: an argument with a
     * space goes in double quotes, and backslashes and single quotes are escaped.
     *
     * @throws NotBootableException an argument holds a double quote or a control character (no
     *     kernel reads them back as GRUB wrote them), or the line is too long
     */
    static String commandLine(List<String> args) {
        StringBuilder b = new StringBuilder();
        for (String a : args) {
            if (a.isEmpty()) {
                continue;
            }
            if (a.chars().anyMatch(c -> c == '"' || c < 0x20 || c >= 0x7f)) {
                throw new NotBootableException("a kernel argument in grub.cfg has a double quote or a character that"
                        + " is not printable ASCII: " + a.replaceAll("[^\\x20-\\x7e]", "?"));
            }
            String escaped = a.replace("\\", "\\\\").replace("'", "\\'");
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(a.indexOf(' ') >= 0 ? "\"" + escaped + "\"" : escaped);
        }
        if (b.length() > MAX_CMDLINE) {
            throw new NotBootableException("the kernel command line in grub.cfg is " + b.length()
                    + " characters long, more than the " + MAX_CMDLINE + " passed on");
        }
        return b.toString();
    }
}
