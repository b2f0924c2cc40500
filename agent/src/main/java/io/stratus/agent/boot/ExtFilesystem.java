package io.stratus.agent.boot;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An ext2/3/4 filesystem of a disk, whose files are read with {@link Debugfs}: its superblock is
 * checked here first (magic, block size, size against its partition), so that an unknown
 * filesystem gets a clear message rather than debugfs's. On a raw image debugfs reads the
 * partition in place; on any other format the partition is first copied out to a sparse raw file
 * in the scratch directory, deleted on close.
 */
final class ExtFilesystem implements AutoCloseable {
    /** Symbolic links followed for one path at most (the kernel allows 40; e2fsprogs 8). */
    static final int MAX_LINKS = 8;
    /** The largest partition copied out of a non-raw image for debugfs (ext4's file size limit is 16 TiB). */
    static final long MAX_COPY = 4L << 40;
    private static final int SUPERBLOCK = 1024;
    private static final int MAGIC = 0xef53;
    private static final int MAX_PATH = 1024;
    private static final int MAX_STAT = 64 << 10;
    private static final Pattern TYPE = Pattern.compile("Type: (\\w+)");
    private static final Pattern SIZE = Pattern.compile("\\bSize: (\\d+)");
    private static final Pattern FAST_LINK = Pattern.compile("Fast link dest: \"(.*)\"");
    /** What a path may hold here: it travels inside a debugfs request, between double quotes. */
    private static final Pattern SAFE_PATH = Pattern.compile("[A-Za-z0-9._+,:@=~/ -]+");

    /** What the superblock says. */
    record Superblock(String uuid, String kind, long bytes) {
    }

    /** A regular file found at {@code path} (symbolic links followed), of {@code size} bytes. */
    record File(String path, long size) {
    }

    private final Partition partition;
    private final Superblock superblock;
    private final Debugfs debugfs;
    private final Path scratch;
    private final Optional<Path> copy;

    private ExtFilesystem(Partition partition, Superblock superblock, Debugfs debugfs, Path scratch,
                          Optional<Path> copy) {
        this.partition = partition;
        this.superblock = superblock;
        this.debugfs = debugfs;
        this.scratch = scratch;
        this.copy = copy;
    }

    /**
     * The ext superblock of {@code p}, if it has one.
     *
     * @throws NotBootableException it has one, but it is malformed or larger than its partition
     */
    static Optional<Superblock> probe(DiskReader disk, Partition p) throws IOException {
        if (p.size() < SUPERBLOCK + 1024) {
            return Optional.empty();
        }
        byte[] raw = new byte[1024];
        disk.read(p.offset() + SUPERBLOCK, raw, raw.length);
        ByteBuffer sb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        if ((sb.getShort(0x38) & 0xffff) != MAGIC) {
            return Optional.empty();
        }
        int logBlock = sb.getInt(0x18);
        if (logBlock < 0 || logBlock > 6) {
            throw new NotBootableException(p.describe() + ": its ext superblock gives a block size of 2^"
                    + (10 + Integer.toUnsignedLong(logBlock)) + " bytes: the filesystem is corrupt");
        }
        long compat = sb.getInt(0x5c) & 0xffffffffL;
        long incompat = sb.getInt(0x60) & 0xffffffffL;
        long blocks = sb.getInt(0x04) & 0xffffffffL;
        if ((incompat & 0x80) != 0) {
            blocks |= (sb.getInt(0x150) & 0xffffffffL) << 32;
        }
        long blockSize = 1024L << logBlock;
        if (blocks > p.size() / blockSize) {
            throw new NotBootableException(p.describe() + ": its ext filesystem (" + blocks + " blocks of "
                    + blockSize + " bytes) is larger than the partition (" + p.size() + " bytes)");
        }
        String kind = (incompat & (0x40 | 0x80 | 0x200)) != 0 ? "ext4" : (compat & 0x4) != 0 ? "ext3" : "ext2";
        return Optional.of(new Superblock(uuid(raw, 0x68), kind, blocks * blockSize));
    }

    /** Opens the filesystem of {@code p} for reading (copying the partition out when the image is not raw). */
    static ExtFilesystem open(String debugfsProgram, DiskReader disk, Partition p, Superblock sb, Path scratch)
            throws IOException {
        Optional<Path> raw = disk.rawFile();
        if (raw.isPresent()) {
            return new ExtFilesystem(p, sb, new Debugfs(debugfsProgram, raw.get(), p.offset(), p.describe(), scratch),
                    scratch, Optional.empty());
        }
        if (p.size() > MAX_COPY) {
            throw new NotBootableException(p.describe() + " is " + p.size() + " bytes; a partition of a non-raw image"
                    + " is read through a copy of at most " + MAX_COPY + " bytes");
        }
        Path copy = Files.createTempFile(scratch, "partition-" + p.number() + "-", ".raw");
        Files.delete(copy);
        try {
            disk.copyOut(p.offset(), p.size(), copy);
            return new ExtFilesystem(p, sb, new Debugfs(debugfsProgram, copy, 0, p.describe(), scratch), scratch,
                    Optional.of(copy));
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(copy);
            throw e;
        }
    }

    Partition partition() {
        return partition;
    }

    Superblock superblock() {
        return superblock;
    }

    /** How messages name it: "partition 1 (ext4)". */
    String describe() {
        return partition.describe() + " (" + superblock.kind() + ")";
    }

    /**
     * The regular file at {@code path}, following symbolic links (relative ones from the link's
     * directory, absolute ones from this filesystem's root); empty when nothing is there.
     *
     * @throws NotBootableException the links loop, the path names something that is not a file,
     *     or a path holds characters this reader does not pass on
     */
    Optional<File> find(String path) throws IOException {
        String current = normalize(path);
        for (int hops = 0; ; hops++) {
            Optional<Stat> st = stat(current);
            if (st.isEmpty()) {
                return Optional.empty();
            }
            switch (st.get().type()) {
                case "regular":
                    return Optional.of(new File(current, st.get().size()));
                case "symlink":
                    if (hops == MAX_LINKS) {
                        throw new NotBootableException(describe() + ": " + path + " is a symbolic link loop (more than "
                                + MAX_LINKS + " links)");
                    }
                    String target = st.get().fastLink().orElse(null);
                    if (target == null) {
                        if (st.get().size() > MAX_PATH) {
                            throw new NotBootableException(describe() + ": the symbolic link " + current + " is "
                                    + st.get().size() + " bytes long");
                        }
                        target = new String(read(current, MAX_PATH), StandardCharsets.UTF_8);
                    }
                    current = normalize(target.startsWith("/") ? target : parent(current) + "/" + target);
                    break;
                default:
                    throw new NotBootableException(describe() + ": " + current + " is a " + st.get().type()
                            + ", not a file");
            }
        }
    }

    /**
     * The content of the file {@link #find} found, of at most {@code max} bytes.
     *
     * @throws NotBootableException it is larger, or debugfs cannot read it whole
     */
    byte[] read(String path, long max) throws IOException {
        Path out = Files.createTempFile(scratch, "read-", ".out");
        try {
            dump(path, max, out);
            return Files.readAllBytes(out);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /**
     * Writes the file at {@code path} (no links followed: pass what {@link #find} found) to {@code target}.
     *
     * @throws NotBootableException it is larger than {@code max} bytes, or debugfs cannot read it whole
     */
    void dump(String path, long max, Path target) throws IOException {
        String p = normalize(path);
        Optional<Stat> st = stat(p);
        if (st.isEmpty()) {
            throw new NotBootableException(describe() + ": " + p + " is not there");
        }
        if (st.get().size() > max) {
            throw new NotBootableException(describe() + ": " + p + " is " + st.get().size() + " bytes, more than the "
                    + max + " allowed");
        }
        Debugfs.Output o = debugfs.run("cat \"" + p + "\"", target);
        long got = Files.size(target);
        if (got != st.get().size()) {
            throw new NotBootableException(describe() + ": " + p + " could not be read whole (" + got + " of "
                    + st.get().size() + " bytes): " + Debugfs.firstLine(o.errors()));
        }
    }

    private record Stat(String type, long size, Optional<String> fastLink) {
    }

    private Optional<Stat> stat(String path) throws IOException {
        Path out = Files.createTempFile(scratch, "stat-", ".out");
        try {
            Debugfs.Output o = debugfs.run("stat \"" + path + "\"", out);
            if (o.errors().contains("File not found")) {
                return Optional.empty();
            }
            if (o.errors().contains("Too many symbolic links")) {
                throw new NotBootableException(describe() + ": " + path + " goes through a symbolic link loop");
            }
            String text;
            try (InputStream in = Files.newInputStream(out)) {
                text = new String(in.readNBytes(MAX_STAT), StandardCharsets.UTF_8);
            }
            Matcher type = TYPE.matcher(text);
            Matcher size = SIZE.matcher(text);
            if (!type.find() || !size.find()) {
                throw new NotBootableException(describe() + ": debugfs cannot read " + path + ": "
                        + Debugfs.firstLine(o.errors()));
            }
            Matcher link = FAST_LINK.matcher(text);
            return Optional.of(new Stat(type.group(1), Long.parseLong(size.group(1)),
                    link.find() ? Optional.of(link.group(1)) : Optional.empty()));
        } catch (NumberFormatException e) {
            throw new NotBootableException(describe() + ": " + path + " has a size debugfs cannot print");
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** {@code path} made absolute and without "." or ".." (never above the root), after checking its characters. */
    String normalize(String path) {
        if (path.isEmpty() || path.length() > MAX_PATH || !SAFE_PATH.matcher(path).matches()) {
            throw new NotBootableException(describe() + ": the path \"" + printable(path) + "\" is empty, longer than "
                    + MAX_PATH + " characters, or has characters other than letters, digits, space and ._+,:@=~/-");
        }
        Deque<String> parts = new ArrayDeque<>();
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                parts.pollLast();
            } else {
                parts.addLast(part);
            }
        }
        return "/" + String.join("/", parts);
    }

    private static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }

    private static String printable(String s) {
        String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        StringBuilder b = new StringBuilder();
        cut.codePoints().forEach(c -> b.append(c >= 0x20 && c < 0x7f ? Character.toString(c) : "?"));
        return b.toString();
    }

    private static String uuid(byte[] b, int at) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            s.append(String.format("%02x", b[at + i] & 0xff));
            if (i == 3 || i == 5 || i == 7 || i == 9) {
                s.append('-');
            }
        }
        return s.toString();
    }

    /** Deletes the partition's copy, if one was made. */
    @Override
    public void close() {
        copy.ifPresent(c -> {
            try {
                Files.deleteIfExists(c);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot delete " + c, e);
            }
        });
    }
}
