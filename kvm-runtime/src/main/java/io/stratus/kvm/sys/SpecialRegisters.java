package io.stratus.kvm.sys;

import java.util.Arrays;

/** Segment, descriptor-table and control registers of a vCPU ({@code struct kvm_sregs}). */
public record SpecialRegisters(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss,
                               Segment tr, Segment ldt, DescriptorTable gdt, DescriptorTable idt,
                               long cr0, long cr2, long cr3, long cr4, long cr8, long efer, long apicBase,
                               long[] interruptBitmap) {

    public SpecialRegisters {
        if (interruptBitmap.length != 4) {
            throw new IllegalArgumentException("interrupt bitmap has 4 words, not " + interruptBitmap.length);
        }
        interruptBitmap = interruptBitmap.clone();
    }

    @Override
    public long[] interruptBitmap() {
        return interruptBitmap.clone();
    }

    /** These registers with the code, data and task segments and the descriptor tables replaced. */
    public SpecialRegisters withSegments(Segment code, Segment data, Segment task, DescriptorTable newGdt,
                                         DescriptorTable newIdt) {
        return new SpecialRegisters(code, data, data, data, data, data, task, ldt, newGdt, newIdt, cr0, cr2,
                cr3, cr4, cr8, efer, apicBase, interruptBitmap);
    }

    /** These registers with CR0, CR3, CR4 and EFER replaced. */
    public SpecialRegisters withControl(long newCr0, long newCr3, long newCr4, long newEfer) {
        return new SpecialRegisters(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, newCr0, cr2, newCr3, newCr4, cr8,
                newEfer, apicBase, interruptBitmap);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SpecialRegisters r && cs.equals(r.cs) && ds.equals(r.ds) && es.equals(r.es)
                && fs.equals(r.fs) && gs.equals(r.gs) && ss.equals(r.ss) && tr.equals(r.tr) && ldt.equals(r.ldt)
                && gdt.equals(r.gdt) && idt.equals(r.idt) && cr0 == r.cr0 && cr2 == r.cr2 && cr3 == r.cr3
                && cr4 == r.cr4 && cr8 == r.cr8 && efer == r.efer && apicBase == r.apicBase
                && Arrays.equals(interruptBitmap, r.interruptBitmap);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new long[] {cr0, cr3, cr4, efer, cs.base(), cs.selector()});
    }

    @Override
    public String toString() {
        return "SpecialRegisters[cs=" + cs + ", cr0=0x" + Long.toHexString(cr0) + ", cr3=0x" + Long.toHexString(cr3)
                + ", cr4=0x" + Long.toHexString(cr4) + ", efer=0x" + Long.toHexString(efer) + "]";
    }
}
