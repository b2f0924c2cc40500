package io.stratus.agent.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Adds files to an initramfs: Linux unpacks every cpio archive in its initrd, one after the other,
 * so a second archive appended to the kit's gives a test guest its script. The {@code newc} format
 * is a text header per file (Linux's {@code Documentation/driver-api/early-userspace/buffer-format.rst});
 * written here because Debian's cpio is not on every test host.
 */
final class CpioAppendix {
    private CpioAppendix() {
    }

    /** Appends {@code name} (an executable, at the root) with {@code content} to the initramfs {@code initrd}. */
    static void append(Path initrd, String name, byte[] content) throws IOException {
        long size = Files.size(initrd);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        // Each archive starts on a 4-byte boundary after the one before.
        out.write(new byte[(int) ((4 - size % 4) % 4)]);
        entry(out, name, 0100755, content);
        entry(out, "TRAILER!!!", 0, new byte[0]);
        Files.write(initrd, out.toByteArray(), StandardOpenOption.APPEND);
    }

    private static void entry(ByteArrayOutputStream out, String name, int mode, byte[] content) throws IOException {
        byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        int start = out.size();
        String header = "070701" + hex(1) + hex(mode) + hex(0) + hex(0) + hex(1) + hex(0) + hex(content.length)
                + hex(0) + hex(0) + hex(0) + hex(0) + hex(n.length) + hex(0);
        out.write(header.getBytes(StandardCharsets.US_ASCII));
        out.write(n);
        pad(out, out.size() - start);
        out.write(content);
        pad(out, content.length);
    }

    private static void pad(ByteArrayOutputStream out, int length) {
        for (int i = length; i % 4 != 0; i++) {
            out.write(0);
        }
    }

    private static String hex(long v) {
        return String.format("%08x", v);
    }
}
