package io.stratus.kvm.boot;

import io.stratus.kvm.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Recognises a kernel image (ELF or bzImage) and loads it into guest memory. */
public final class KernelLoader {
    private KernelLoader() {
    }

    /** What kind of image a file holds, judged by its magic numbers. */
    public enum ImageKind {
        ELF,
        BZIMAGE
    }

    /** Loads {@code kernel} into {@code memory}, failing with a message that names the file and the problem. */
    public static LoadedKernel load(Path kernel, GuestMemory memory) {
        try (FileChannel file = open(kernel, "kernel")) {
            return switch (detect(kernel, file)) {
                case ELF -> ElfLoader.load(kernel, file, memory);
                case BZIMAGE -> BzImageLoader.load(kernel, file, memory);
            };
        } catch (IOException e) {
            throw new KernelLoadException("cannot read kernel " + kernel + ": " + e.getMessage(), e);
        }
    }

    /** Opens a boot file for reading, turning the usual mistakes into clear errors. */
    static FileChannel open(Path path, String what) {
        if (Files.isDirectory(path)) {
            throw new KernelLoadException(what + " " + path + " is a directory, not a file");
        }
        try {
            return FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new KernelLoadException(what + " file " + path + " does not exist");
        } catch (IOException | SecurityException e) {
            throw new KernelLoadException("cannot open " + what + " " + path + ": " + e.getMessage(), e);
        }
    }

    static ImageKind detect(Path path, FileChannel file) throws IOException {
        long size = file.size();
        if (size == 0) {
            throw new KernelLoadException("kernel " + path + " is empty");
        }
        ByteBuffer head = read(file, 0, (int) Math.min(size, 0x210));
        if (head.limit() >= 4 && head.getInt(0) == 0x464c457f) {
            return ImageKind.ELF;
        }
        if (head.limit() >= 0x206 && (head.getShort(0x1fe) & 0xffff) == 0xaa55 && head.getInt(0x202) == 0x53726448) {
            return ImageKind.BZIMAGE;
        }
        throw new KernelLoadException("kernel " + path + " is neither an ELF vmlinux nor a bzImage"
                + " (no ELF magic, no 'HdrS' setup header)");
    }

    /** Reads exactly {@code length} bytes at {@code position}, or fewer at the end of the file. */
    static ByteBuffer read(FileChannel file, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (buf.hasRemaining()) {
            int n = file.read(buf, position + buf.position());
            if (n < 0) {
                break;
            }
        }
        return buf.flip();
    }

    /** Copies {@code length} bytes from the file straight into guest memory. */
    static void copyToGuest(FileChannel file, long position, ByteBuffer target) throws IOException {
        while (target.hasRemaining()) {
            int n = file.read(target, position);
            if (n < 0) {
                throw new KernelLoadException("unexpected end of file while loading");
            }
            position += n;
        }
    }
}
