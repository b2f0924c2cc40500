package io.stratus.kvm.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import org.junit.jupiter.api.AfterAll;

/**
 * Drives the virtqueue parser with arbitrary ring contents and ring addresses. Whatever the
 * guest wrote, the parser either returns a chain whose every buffer lies in guest RAM and whose
 * size is bounded, returns null, or throws {@link VirtQueueException}; nothing else.
 */
class VirtQueueFuzzTest {
    private static final long RAM = 2L << 20;
    private static final GuestMemory MEMORY = GuestMemory.x86(16L << 20, false);

    @AfterAll
    static void release() {
        MEMORY.close();
    }

    @FuzzTest(maxDuration = "30s")
    void parserSurvivesArbitraryRings(FuzzedDataProvider data) {
        int size = 1 << data.consumeInt(0, 5);
        VirtQueue queue = new VirtQueue(32);
        queue.setSize(data.consumeBoolean() ? size : data.consumeInt(0, 64));
        long base = 0x10000;
        queue.setDescriptorTable(data.consumeBoolean() ? base : data.consumeLong(0, RAM * 10));
        queue.setAvailRing(base + 0x1000);
        queue.setUsedRing(data.consumeBoolean() ? base + 0x2000 : data.consumeLong(0, RAM * 10));
        queue.setEventIdx(data.consumeBoolean());
        queue.setReady(true);
        MEMORY.write(GuestAddress.of(base), data.consumeBytes(16 * 32));
        MEMORY.write(GuestAddress.of(base + 0x1000), data.consumeBytes(6 + 2 * 32));
        byte[] rest = data.consumeRemainingAsBytes();
        MEMORY.write(GuestAddress.of(0x20000), rest);
        for (int i = 0; i < 2 * size + 2; i++) {
            DescriptorChain chain;
            try {
                chain = queue.pop(MEMORY);
            } catch (VirtQueueException e) {
                if (e.head() < 0) {
                    return;
                }
                assertThat(e.head()).isLessThan(queue.size());
                continue;
            }
            if (chain == null) {
                return;
            }
            long total = 0;
            for (Descriptor d : chain.descriptors()) {
                assertThat(MEMORY.isValidRange(d.address(), d.length() & 0xffffffffL)).isTrue();
                total += d.length() & 0xffffffffL;
            }
            assertThat(total).isLessThanOrEqualTo(VirtQueue.MAX_CHAIN_BYTES);
            queue.addUsed(MEMORY, chain.head(), 0);
            queue.shouldNotify(MEMORY);
        }
    }
}
