package io.stratus.kvm.snapshot;

import io.stratus.kvm.devices.SerialState;
import io.stratus.kvm.sys.DescriptorTable;
import io.stratus.kvm.sys.MsrEntry;
import io.stratus.kvm.sys.Regs;
import io.stratus.kvm.sys.Segment;
import io.stratus.kvm.sys.SpecialRegisters;
import io.stratus.kvm.virtio.VirtQueueState;
import io.stratus.kvm.virtio.VirtioTransportState;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Reads and writes {@code state.bin}, the versioned state file of a snapshot (format in
 * kvm-runtime/SNAPSHOT.md): a magic, a format version, the body, and a CRC-32 of all of it.
 * Reading checks all three before anything is used, and bounds every length it reads, so a
 * truncated, corrupt or foreign file is a {@link SnapshotException}, never a half-restored guest.
 */
public final class SnapshotCodec {
    /** "STRSNAP" and a NUL. */
    static final byte[] MAGIC = {'S', 'T', 'R', 'S', 'N', 'A', 'P', 0};
    /**
     * Bump on any change of the body layout; older readers then refuse the file. What this VMM
     * writes: 2 adds the entropy device after the balloon interval, 3 the volume slots after it.
     */
    public static final int VERSION = 3;
    /** The oldest version this VMM still reads (snapshots an older agent took before an upgrade). */
    public static final int OLDEST_READ = 1;
    public static final String STATE_FILE = "state.bin";
    public static final String MEMORY_FILE = "memory.bin";
    static final int MAX_BLOB = 1 << 20;
    static final int MAX_COUNT = 4096;

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
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.write(MAGIC);
            out.writeInt(VERSION);
            writeBody(out, snapshot);
            out.flush();
            CRC32 crc = new CRC32();
            crc.update(bytes.toByteArray());
            out.writeInt((int) crc.getValue());
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("writing to memory failed", e);
        }
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
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(all, 12, all.length - 16));
            VmSnapshot snapshot = readBody(in, version);
            if (in.available() != 0) {
                throw new SnapshotException(source + " has " + in.available() + " unexpected trailing bytes");
            }
            return snapshot;
        } catch (EOFException e) {
            throw new SnapshotException(source + " ends early: truncated", e);
        } catch (IOException | IllegalArgumentException e) {
            throw new SnapshotException(source + " is malformed: " + e.getMessage(), e);
        }
    }

    private static void writeBody(DataOutputStream out, VmSnapshot s) throws IOException {
        out.writeUTF(s.name());
        out.writeUTF(s.kernel());
        out.writeUTF(s.cmdline());
        out.writeLong(s.memoryBytes());
        out.writeInt(s.vcpus());
        out.writeBoolean(s.mergeableMemory());
        out.writeLong(s.balloonStatsMillis());
        out.writeBoolean(s.entropy());
        out.writeInt(s.volumeSlots());
        out.writeInt(s.disks().size());
        for (VmSnapshot.Disk d : s.disks()) {
            out.writeUTF(d.path());
            out.writeBoolean(d.readOnly());
            out.writeUTF(d.id());
        }
        out.writeInt(s.nets().size());
        for (VmSnapshot.Net n : s.nets()) {
            out.writeUTF(n.tap());
            out.writeUTF(n.mac());
        }
        out.writeInt(s.vcpuStates().size());
        for (VcpuState v : s.vcpuStates()) {
            writeVcpu(out, v);
        }
        out.writeInt(s.machine().irqchips().size());
        for (byte[] chip : s.machine().irqchips()) {
            blob(out, chip);
        }
        blob(out, s.machine().pit());
        out.writeLong(s.machine().clockNanos());
        SerialState serial = s.serial();
        for (int v : new int[] {serial.ier(), serial.lcr(), serial.mcr(), serial.scr(), serial.dll(), serial.dlm()}) {
            out.writeInt(v);
        }
        out.writeBoolean(serial.fifoEnabled());
        out.writeBoolean(serial.thrInterruptPending());
        blob(out, serial.pendingInput());
        out.writeInt(s.transports().size());
        for (VirtioTransportState t : s.transports()) {
            out.writeInt(t.status());
            out.writeLong(t.driverFeatures());
            out.writeInt(t.deviceFeaturesSel());
            out.writeInt(t.driverFeaturesSel());
            out.writeInt(t.queueSel());
            out.writeInt(t.interruptStatus());
            out.writeBoolean(t.needsReset());
            out.writeInt(t.queues().size());
            for (VirtQueueState q : t.queues()) {
                out.writeInt(q.size());
                out.writeBoolean(q.ready());
                out.writeLong(q.descriptorTable());
                out.writeLong(q.availRing());
                out.writeLong(q.usedRing());
                out.writeBoolean(q.eventIdx());
                out.writeInt(q.nextAvail());
                out.writeInt(q.nextUsed());
            }
            blob(out, t.deviceState());
        }
    }

    private static VmSnapshot readBody(DataInputStream in, int version) throws IOException {
        String name = in.readUTF();
        String kernel = in.readUTF();
        String cmdline = in.readUTF();
        long memory = in.readLong();
        int vcpus = in.readInt();
        boolean mergeable = in.readBoolean();
        long balloonMillis = in.readLong();
        boolean entropy = version >= 2 && in.readBoolean();
        int volumeSlots = version >= 3 ? in.readInt() : 0;
        List<VmSnapshot.Disk> disks = new ArrayList<>();
        for (int i = count(in); i > 0; i--) {
            disks.add(new VmSnapshot.Disk(in.readUTF(), in.readBoolean(), in.readUTF()));
        }
        List<VmSnapshot.Net> nets = new ArrayList<>();
        for (int i = count(in); i > 0; i--) {
            nets.add(new VmSnapshot.Net(in.readUTF(), in.readUTF()));
        }
        List<VcpuState> states = new ArrayList<>();
        for (int i = count(in); i > 0; i--) {
            states.add(readVcpu(in));
        }
        List<byte[]> chips = new ArrayList<>();
        for (int i = count(in); i > 0; i--) {
            chips.add(blob(in));
        }
        MachineState machine = new MachineState(chips, blob(in), in.readLong());
        SerialState serial = new SerialState(in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(),
                in.readInt(), in.readBoolean(), in.readBoolean(), blob(in));
        List<VirtioTransportState> transports = new ArrayList<>();
        for (int i = count(in); i > 0; i--) {
            int status = in.readInt();
            long features = in.readLong();
            int dsel = in.readInt();
            int fsel = in.readInt();
            int qsel = in.readInt();
            int interrupt = in.readInt();
            boolean needsReset = in.readBoolean();
            List<VirtQueueState> queues = new ArrayList<>();
            for (int q = count(in); q > 0; q--) {
                queues.add(new VirtQueueState(in.readInt(), in.readBoolean(), in.readLong(), in.readLong(),
                        in.readLong(), in.readBoolean(), in.readInt(), in.readInt()));
            }
            transports.add(new VirtioTransportState(status, features, dsel, fsel, qsel, interrupt, needsReset, queues,
                    blob(in)));
        }
        if (vcpus != states.size()) {
            throw new IllegalArgumentException(vcpus + " vCPUs but " + states.size() + " vCPU states");
        }
        return new VmSnapshot(name, kernel, cmdline, memory, vcpus, mergeable, balloonMillis, entropy, volumeSlots,
                disks, nets,
                states, machine, serial, transports);
    }

    private static void writeVcpu(DataOutputStream out, VcpuState v) throws IOException {
        out.writeInt(v.id());
        Regs r = v.regs();
        for (long x : new long[] {r.rax(), r.rbx(), r.rcx(), r.rdx(), r.rsi(), r.rdi(), r.rsp(), r.rbp(), r.r8(),
                r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15(), r.rip(), r.rflags()}) {
            out.writeLong(x);
        }
        SpecialRegisters s = v.sregs();
        for (Segment seg : new Segment[] {s.cs(), s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt()}) {
            out.writeLong(seg.base());
            out.writeInt(seg.limit());
            out.writeInt(seg.selector());
            for (int b : new int[] {seg.type(), seg.present(), seg.dpl(), seg.db(), seg.s(), seg.l(), seg.g(),
                    seg.avl(), seg.unusable()}) {
                out.writeByte(b);
            }
        }
        for (DescriptorTable t : new DescriptorTable[] {s.gdt(), s.idt()}) {
            out.writeLong(t.base());
            out.writeInt(t.limit());
        }
        for (long x : new long[] {s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase()}) {
            out.writeLong(x);
        }
        for (long x : s.interruptBitmap()) {
            out.writeLong(x);
        }
        out.writeBoolean(v.xsave());
        blob(out, v.fpu());
        blob(out, v.xcrs());
        out.writeInt(v.msrs().size());
        for (MsrEntry m : v.msrs()) {
            out.writeInt(m.index());
            out.writeLong(m.data());
        }
        blob(out, v.lapic());
        out.writeInt(v.mpState());
        blob(out, v.events());
        blob(out, v.debugRegs());
    }

    private static VcpuState readVcpu(DataInputStream in) throws IOException {
        int id = in.readInt();
        long[] g = new long[18];
        for (int i = 0; i < g.length; i++) {
            g[i] = in.readLong();
        }
        Regs regs = new Regs(g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13],
                g[14], g[15], g[16], g[17]);
        Segment[] seg = new Segment[8];
        for (int i = 0; i < 8; i++) {
            long base = in.readLong();
            int limit = in.readInt();
            int selector = in.readInt();
            int[] b = new int[9];
            for (int j = 0; j < 9; j++) {
                b[j] = in.readByte();
            }
            seg[i] = new Segment(base, limit, selector, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8]);
        }
        DescriptorTable gdt = new DescriptorTable(in.readLong(), in.readInt());
        DescriptorTable idt = new DescriptorTable(in.readLong(), in.readInt());
        long[] c = new long[7];
        for (int i = 0; i < c.length; i++) {
            c[i] = in.readLong();
        }
        long[] bitmap = new long[4];
        for (int i = 0; i < 4; i++) {
            bitmap[i] = in.readLong();
        }
        SpecialRegisters sregs = new SpecialRegisters(seg[0], seg[1], seg[2], seg[3], seg[4], seg[5], seg[6], seg[7],
                gdt, idt, c[0], c[1], c[2], c[3], c[4], c[5], c[6], bitmap);
        boolean xsave = in.readBoolean();
        byte[] fpu = blob(in);
        byte[] xcrs = blob(in);
        List<MsrEntry> msrs = new ArrayList<>();
        for (int i = count(in); i > 0; i--) {
            msrs.add(new MsrEntry(in.readInt(), in.readLong()));
        }
        byte[] lapic = blob(in);
        int mp = in.readInt();
        return new VcpuState(id, regs, sregs, xsave, fpu, xcrs, msrs, lapic, mp, blob(in), blob(in));
    }

    private static void blob(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] blob(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_BLOB) {
            throw new IllegalArgumentException("a field claims " + n + " bytes");
        }
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    private static int count(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_COUNT) {
            throw new IllegalArgumentException("a list claims " + n + " entries");
        }
        return n;
    }
}
