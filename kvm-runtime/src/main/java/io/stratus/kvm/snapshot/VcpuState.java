package io.stratus.kvm.snapshot;

import io.stratus.kvm.persist.StateReader;
import io.stratus.kvm.persist.StateWriter;
import io.stratus.kvm.sys.DescriptorTable;
import io.stratus.kvm.sys.MsrEntry;
import io.stratus.kvm.sys.Regs;
import io.stratus.kvm.sys.Segment;
import io.stratus.kvm.sys.SpecialRegisters;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything KVM keeps for one vCPU. The byte arrays are the kernel's own structures
 * ({@code kvm_xsave} or {@code kvm_fpu}, {@code kvm_xcrs}, {@code kvm_lapic_state},
 * {@code kvm_vcpu_events}, {@code kvm_debugregs}), restored as they were read.
 *
 * @param xsave true when {@code fpu} is a 4 KiB XSAVE area, false for the 416-byte legacy FPU state
 * @param xcrs empty where the host has no KVM_CAP_XCRS
 * @param debugRegs empty where the host has no KVM_CAP_DEBUGREGS
 */
public record VcpuState(int id, Regs regs, SpecialRegisters sregs, boolean xsave, byte[] fpu, byte[] xcrs,
                        List<MsrEntry> msrs, byte[] lapic, int mpState, byte[] events, byte[] debugRegs) {
    public VcpuState {
        fpu = fpu.clone();
        xcrs = xcrs.clone();
        msrs = List.copyOf(msrs);
        lapic = lapic.clone();
        events = events.clone();
        debugRegs = debugRegs.clone();
    }

    @Override
    public byte[] fpu() {
        return fpu.clone();
    }

    @Override
    public byte[] xcrs() {
        return xcrs.clone();
    }

    @Override
    public byte[] lapic() {
        return lapic.clone();
    }

    @Override
    public byte[] events() {
        return events.clone();
    }

    @Override
    public byte[] debugRegs() {
        return debugRegs.clone();
    }

    /** The general registers, segments, tables, control registers, then the kernel's structures as read. */
    void writeTo(StateWriter out) {
        out.writeInt(id);
        Regs r = regs;
        for (long x : new long[] {r.rax(), r.rbx(), r.rcx(), r.rdx(), r.rsi(), r.rdi(), r.rsp(), r.rbp(), r.r8(),
                r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15(), r.rip(), r.rflags()}) {
            out.writeLong(x);
        }
        SpecialRegisters s = sregs;
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
        out.writeBoolean(xsave);
        out.writeBlob(fpu);
        out.writeBlob(xcrs);
        out.writeCount(msrs.size());
        for (MsrEntry m : msrs) {
            out.writeInt(m.index());
            out.writeLong(m.data());
        }
        out.writeBlob(lapic);
        out.writeInt(mpState);
        out.writeBlob(events);
        out.writeBlob(debugRegs);
    }

    static VcpuState readFrom(StateReader in) {
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
        byte[] fpu = in.readBlob();
        byte[] xcrs = in.readBlob();
        List<MsrEntry> msrs = new ArrayList<>();
        for (int i = in.readCount(); i > 0; i--) {
            msrs.add(new MsrEntry(in.readInt(), in.readLong()));
        }
        byte[] lapic = in.readBlob();
        int mp = in.readInt();
        return new VcpuState(id, regs, sregs, xsave, fpu, xcrs, msrs, lapic, mp, in.readBlob(), in.readBlob());
    }
}
