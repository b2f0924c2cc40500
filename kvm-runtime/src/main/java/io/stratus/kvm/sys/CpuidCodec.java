package io.stratus.kvm.sys;

import com.sun.jna.Memory;
import java.util.ArrayList;
import java.util.List;

/** Encodes and decodes {@code struct kvm_cpuid2}. */
final class CpuidCodec {
    private static final int ENTRY_SIZE = 40;

    private CpuidCodec() {
    }

    static List<CpuidEntry> decode(Memory buf) {
        int n = buf.getInt(0);
        List<CpuidEntry> entries = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long o = 8 + (long) i * ENTRY_SIZE;
            entries.add(new CpuidEntry(buf.getInt(o), buf.getInt(o + 4), buf.getInt(o + 8), buf.getInt(o + 12),
                    buf.getInt(o + 16), buf.getInt(o + 20), buf.getInt(o + 24)));
        }
        return List.copyOf(entries);
    }

    static Memory encode(List<CpuidEntry> entries) {
        Memory buf = new Memory(8 + (long) Math.max(entries.size(), 1) * ENTRY_SIZE);
        buf.clear();
        buf.setInt(0, entries.size());
        for (int i = 0; i < entries.size(); i++) {
            CpuidEntry e = entries.get(i);
            long o = 8 + (long) i * ENTRY_SIZE;
            buf.setInt(o, e.function());
            buf.setInt(o + 4, e.index());
            buf.setInt(o + 8, e.flags());
            buf.setInt(o + 12, e.eax());
            buf.setInt(o + 16, e.ebx());
            buf.setInt(o + 20, e.ecx());
            buf.setInt(o + 24, e.edx());
        }
        return buf;
    }
}
