package io.stratus.kvm.virtio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class VirtQueueTest {
    private final GuestMemory memory = GuestMemory.x86(16L << 20, false);
    private final MockDriver driver = new MockDriver(memory, 8);
    private final VirtQueue queue = driver.configure(new VirtQueue(16));

    @AfterEach
    void release() {
        memory.close();
    }

    private VirtQueueException failure(VirtQueueException.Kind kind) {
        try {
            queue.pop(memory);
        } catch (VirtQueueException e) {
            assertThat(e.kind()).as(e.getMessage()).isEqualTo(kind);
            return e;
        }
        throw new AssertionError("expected " + kind);
    }

    @Test
    void popsAChainWithReadableThenWritableBuffers() throws VirtQueueException {
        long a = driver.allocate(16);
        long b = driver.allocate(512);
        driver.descriptor(3, a, 16, VirtQueue.DESC_F_NEXT, 5);
        driver.descriptor(5, b, 512, VirtQueue.DESC_F_WRITE, 0);
        driver.publish(3);
        assertThat(queue.hasAvailable(memory)).isTrue();
        DescriptorChain chain = queue.pop(memory);
        assertThat(chain.head()).isEqualTo(3);
        assertThat(chain.descriptors()).containsExactly(new Descriptor(GuestAddress.of(a), 16, false),
                new Descriptor(GuestAddress.of(b), 512, true));
        assertThat(chain.readableBytes()).isEqualTo(16);
        assertThat(chain.writableBytes()).isEqualTo(512);
        assertThat(queue.pop(memory)).isNull();
    }

    @Test
    void followsAnIndirectTable() throws VirtQueueException {
        long table = driver.allocate(48);
        driver.writeDescriptor(table, 0, driver.allocate(16), 16, VirtQueue.DESC_F_NEXT, 1);
        driver.writeDescriptor(table, 1, driver.allocate(4096), 4096, VirtQueue.DESC_F_NEXT | VirtQueue.DESC_F_WRITE, 2);
        driver.writeDescriptor(table, 2, driver.allocate(1), 1, VirtQueue.DESC_F_WRITE, 0);
        driver.descriptor(0, table, 48, VirtQueue.DESC_F_INDIRECT, 0);
        driver.publish(0);
        DescriptorChain chain = queue.pop(memory);
        assertThat(chain.descriptors()).hasSize(3);
        assertThat(chain.writableBytes()).isEqualTo(4097);
    }

    @Test
    void failsAChainThatLoopsAndGoesOnWithTheNext() throws VirtQueueException {
        driver.descriptor(0, driver.allocate(8), 8, VirtQueue.DESC_F_NEXT, 1);
        driver.descriptor(1, driver.allocate(8), 8, VirtQueue.DESC_F_NEXT, 0);
        driver.publish(0);
        driver.descriptor(2, driver.allocate(8), 8, 0, 0);
        driver.publish(2);
        VirtQueueException e = failure(VirtQueueException.Kind.CHAIN_TOO_LONG);
        assertThat(e.head()).isZero();
        assertThat(e.kind().fatalForQueue()).isFalse();
        assertThat(queue.pop(memory).head()).isEqualTo(2);
    }

    @Test
    void failsDescriptorIndicesBeyondTheTable() {
        driver.descriptor(0, driver.allocate(8), 8, VirtQueue.DESC_F_NEXT, 8);
        driver.publish(0);
        assertThat(failure(VirtQueueException.Kind.DESCRIPTOR_INDEX_OUT_OF_RANGE).head()).isZero();
        driver.publish(12);
        assertThat(failure(VirtQueueException.Kind.DESCRIPTOR_INDEX_OUT_OF_RANGE).head()).isEqualTo(-1);
    }

    @Test
    void failsBuffersOutsideGuestMemoryOrWithHugeLengths() {
        driver.descriptor(0, 0xd000_0000L, 16, 0, 0);
        driver.publish(0);
        failure(VirtQueueException.Kind.BUFFER_OUTSIDE_MEMORY);
        driver.descriptor(1, (16L << 20) - 8, 16, 0, 0);
        driver.publish(1);
        failure(VirtQueueException.Kind.BUFFER_OUTSIDE_MEMORY);
        driver.descriptor(2, driver.allocate(16), 0xffff_fff0, 0, 0);
        driver.publish(2);
        failure(VirtQueueException.Kind.BUFFER_OUTSIDE_MEMORY);
        driver.descriptor(3, -16L, 64, 0, 0);
        driver.publish(3);
        failure(VirtQueueException.Kind.BUFFER_OUTSIDE_MEMORY);
    }

    @Test
    void failsReadableBuffersAfterWritableOnes() {
        driver.descriptor(0, driver.allocate(8), 8, VirtQueue.DESC_F_NEXT | VirtQueue.DESC_F_WRITE, 1);
        driver.descriptor(1, driver.allocate(8), 8, 0, 0);
        driver.publish(0);
        failure(VirtQueueException.Kind.READABLE_AFTER_WRITABLE);
    }

    @Test
    void failsMalformedIndirectTables() {
        long table = driver.allocate(32);
        driver.writeDescriptor(table, 0, table, 32, VirtQueue.DESC_F_INDIRECT, 0);
        driver.descriptor(0, table, 32, VirtQueue.DESC_F_INDIRECT, 0);
        driver.publish(0);
        failure(VirtQueueException.Kind.BAD_INDIRECT_TABLE);
        driver.descriptor(1, table, 20, VirtQueue.DESC_F_INDIRECT, 0);
        driver.publish(1);
        failure(VirtQueueException.Kind.BAD_INDIRECT_TABLE);
        driver.descriptor(2, table, 32, VirtQueue.DESC_F_INDIRECT | VirtQueue.DESC_F_NEXT, 3);
        driver.publish(2);
        failure(VirtQueueException.Kind.BAD_INDIRECT_TABLE);
        driver.descriptor(3, table, 16 * 9, VirtQueue.DESC_F_INDIRECT, 0);
        driver.publish(3);
        failure(VirtQueueException.Kind.BAD_INDIRECT_TABLE);
    }

    @Test
    void availableIndexThatJumpsBreaksTheQueue() {
        driver.setAvailIndex(9);
        VirtQueueException e = failure(VirtQueueException.Kind.AVAIL_INDEX_JUMP);
        assertThat(e.head()).isEqualTo(-1);
        assertThat(e.kind().fatalForQueue()).isTrue();
    }

    @Test
    void ringsOutsideMemoryOrMisalignedMakeTheQueueInvalid() {
        assertThat(queue.isValid(memory)).isTrue();
        queue.setUsedRing(0x12002);
        assertThat(queue.isValid(memory)).isFalse();
        queue.setUsedRing(0xd000_0000L);
        assertThat(queue.isValid(memory)).isFalse();
        assertThatThrownBy(() -> queue.pop(memory)).isInstanceOf(VirtQueueException.class)
                .extracting(e -> ((VirtQueueException) e).kind()).isEqualTo(VirtQueueException.Kind.RING_OUTSIDE_MEMORY);
        queue.setUsedRing(MockDriver.USED);
        queue.setSize(12);
        assertThat(queue.isValid(memory)).as("not a power of two").isFalse();
        queue.setSize(32);
        assertThat(queue.isValid(memory)).as("above the maximum").isFalse();
    }

    @Test
    void returnsUsedChainsInOrder() throws VirtQueueException {
        driver.descriptor(0, driver.allocate(8), 8, VirtQueue.DESC_F_WRITE, 0);
        driver.descriptor(1, driver.allocate(8), 8, VirtQueue.DESC_F_WRITE, 0);
        driver.publish(1);
        driver.publish(0);
        queue.addUsed(memory, queue.pop(memory).head(), 8);
        queue.addUsed(memory, queue.pop(memory).head(), 3);
        assertThat(driver.takeUsed()).isEqualTo(new MockDriver.Used(1, 8));
        assertThat(driver.takeUsed()).isEqualTo(new MockDriver.Used(0, 3));
        assertThat(driver.takeUsed()).isNull();
    }

    @Test
    void eventIndexSuppressesInterruptsTheDriverDidNotAskFor() throws VirtQueueException {
        queue.setEventIdx(true);
        driver.descriptor(0, driver.allocate(8), 8, VirtQueue.DESC_F_WRITE, 0);
        for (int i = 0; i < 3; i++) {
            driver.publish(0);
        }
        driver.setUsedEvent(1);
        queue.addUsed(memory, queue.pop(memory).head(), 0);
        assertThat(queue.shouldNotify(memory)).as("first notification always goes out").isTrue();
        queue.addUsed(memory, queue.pop(memory).head(), 0);
        assertThat(queue.shouldNotify(memory)).as("used index passed used_event 1").isTrue();
        queue.addUsed(memory, queue.pop(memory).head(), 0);
        assertThat(queue.shouldNotify(memory)).as("driver asked at 1, already told").isFalse();
        assertThat(queue.enableNotification(memory)).isFalse();
        assertThat(driver.availEvent()).isEqualTo(3);
    }

    @Test
    void withoutEventIndexTheNoInterruptFlagDecides() throws VirtQueueException {
        driver.descriptor(0, driver.allocate(8), 8, VirtQueue.DESC_F_WRITE, 0);
        driver.publish(0);
        queue.addUsed(memory, queue.pop(memory).head(), 0);
        assertThat(queue.shouldNotify(memory)).isTrue();
        driver.setAvailFlags(VirtQueue.AVAIL_F_NO_INTERRUPT);
        assertThat(queue.shouldNotify(memory)).isFalse();
    }

    @Test
    void indicesWrapAround() throws VirtQueueException {
        VirtQueueState wrapped = new VirtQueueState(8, true, MockDriver.DESC, MockDriver.AVAIL, MockDriver.USED, false,
                0xfffe, 0xfffe);
        queue.restore(wrapped);
        driver.setAvailIndex(0xfffe);
        driver.descriptor(0, driver.allocate(8), 8, VirtQueue.DESC_F_WRITE, 0);
        for (int i = 0; i < 4; i++) {
            driver.publish(0);
        }
        for (int i = 0; i < 4; i++) {
            queue.addUsed(memory, queue.pop(memory).head(), 1);
        }
        assertThat(queue.pop(memory)).isNull();
        assertThat(queue.nextAvail()).isEqualTo(2);
        assertThat(driver.usedIndex()).isEqualTo(2);
    }
}
