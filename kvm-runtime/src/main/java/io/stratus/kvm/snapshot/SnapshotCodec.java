package io.stratus.kvm.snapshot;

import io.stratus.kvm.persist.StateFormatException;
import io.stratus.kvm.persist.StateReader;
import io.stratus.kvm.persist.StateWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * Reads and writes {@code state.bin}, the versioned state file of a snapshot (format in
 * kvm-runtime/SNAPSHOT.md): a magic, a format version, the body, and a CRC-32 of all of it. The
 * body is the guest's {@link SnapshotConfig}, then its {@link GuestState}: each part's state
 * record writes and reads its own fields; this class only frames and checks them.
 * Reading checks all three before anything is used, and bounds every length it reads, so a
 * truncated, corrupt or foreign file is a {@link SnapshotException}, never a half-restored guest.
 */
public final class SnapshotCodec {
    /** "STRSNAP" and a NUL. */
    static final byte[] MAGIC = {'S', 'T', 'R', 'S', 'N', 'A', 'P', 0};
    /**
     * Bump on any change of the body layout; older readers then refuse the file. What this VMM
     * writes: 2 adds the entropy device after the balloon interval, 3 the volume slots after it, 4
     * each disk's NBD export (a root volume) after its serial.
     */
    public static final int VERSION = 4;
    /** The oldest version this VMM still reads (snapshots an older agent took before an upgrade). */
    public static final int OLDEST_READ = 1;
    public static final String STATE_FILE = "state.bin";
    public static final String MEMORY_FILE = "memory.bin";

    private SnapshotCodec() {
    }

    /** Writes {@code snapshot} to {@code dir/state.bin} (through a temporary file, so a crash leaves no half file). */
    public static void write(VmSnapshot snapshot, Path dir) throws IOException {
        Path tmp = dir.resolve(STATE_FILE + ".tmp");
        Files.write(tmp, encode(snapshot));
        Files.move(tmp, dir.resolve(STATE_FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * The bytes of {@code state.bin} for {@code snapshot}: magic, version, body, CRC-32. Live
     * migration sends the same bytes.
     */
    public static byte[] encode(VmSnapshot snapshot) {
        StateWriter out = new StateWriter();
        out.writeRaw(MAGIC);
        out.writeInt(VERSION);
        snapshot.config().writeTo(out);
        snapshot.state().writeTo(out);
        CRC32 crc = new CRC32();
        crc.update(out.toByteArray());
        out.writeInt((int) crc.getValue());
        return out.toByteArray();
    }

    /** Reads and checks {@code dir/state.bin}. */
    public static VmSnapshot read(Path dir) {
        Path file = dir.resolve(STATE_FILE);
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new SnapshotException("no snapshot in " + dir + ": " + STATE_FILE + " is missing");
        } catch (IOException e) {
            throw new SnapshotException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return decode(all, file.toString());
    }

    /**
     * Checks and reads bytes made by {@link #encode}; {@code source} names where they came from in
     * error messages.
     *
     * @throws SnapshotException they are not a state file, of another version, corrupt or truncated
     */
    public static VmSnapshot decode(byte[] all, String source) {
        if (all.length < MAGIC.length + 8 || !Arrays.equals(Arrays.copyOf(all, MAGIC.length), MAGIC)) {
            throw new SnapshotException(source + " is not a Stratus snapshot state file");
        }
        int version = ((all[8] & 0xff) << 24) | ((all[9] & 0xff) << 16) | ((all[10] & 0xff) << 8) | (all[11] & 0xff);
        if (version < OLDEST_READ || version > VERSION) {
            throw new SnapshotException(source + " is snapshot format version " + version
                    + "; this VMM reads versions " + OLDEST_READ + " to " + VERSION);
        }
        CRC32 crc = new CRC32();
        crc.update(all, 0, all.length - 4);
        int stored = ((all[all.length - 4] & 0xff) << 24) | ((all[all.length - 3] & 0xff) << 16)
                | ((all[all.length - 2] & 0xff) << 8) | (all[all.length - 1] & 0xff);
        if ((int) crc.getValue() != stored) {
            throw new SnapshotException(source + " is corrupt or truncated (checksum mismatch)");
        }
        try {
            StateReader in = new StateReader(all, 12, all.length - 16);
            // The configuration, then each part's state record (GuestState composes them).
            VmSnapshot snapshot = new VmSnapshot(SnapshotConfig.readFrom(in, version), GuestState.readFrom(in));
            if (in.remaining() != 0) {
                throw new SnapshotException(source + " has " + in.remaining() + " unexpected trailing bytes");
            }
            return snapshot;
        } catch (StateFormatException.Truncated e) {
            throw new SnapshotException(source + " ends early: truncated", e);
        } catch (IllegalArgumentException e) {
            throw new SnapshotException(source + " is malformed: " + e.getMessage(), e);
        }
    }
}
