/*
 * The virtio-mmio registers and the split virtqueue's layout (virtio 1.x), for the test guests
 * that drive the VMM's first virtio-mmio device themselves (blkdrv, diskcount, rngdrv): queues of
 * QSIZE entries, polled from user mode, and the steps every such driver takes.
 */
#ifndef VIRTIO_MMIO_H
#define VIRTIO_MMIO_H

#include "guest.h"

/* The in-JVM VMM's first virtio-mmio slot. */
#define VIRTIO_BASE 0xd0000000ul
/*
 * QEMU's microvm: 24 slots of 512 bytes; command-line devices take the slots from the highest
 * address down (QEMU plugs -device into the first free bus, and its buses are listed in
 * decreasing address order), so the highest slot of a type is that type's first device.
 */
#define QEMU_MICROVM_BASE 0xfeb00000ul
#define QEMU_MICROVM_SLOTS 24
#define QSIZE 8

#define REG_MAGIC 0x000
#define REG_VERSION 0x004
#define REG_DEVICE_ID 0x008
#define REG_DEVICE_FEATURES 0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES 0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL 0x030
#define REG_QUEUE_NUM_MAX 0x034
#define REG_QUEUE_NUM 0x038
#define REG_QUEUE_READY 0x044
#define REG_QUEUE_NOTIFY 0x050
#define REG_STATUS 0x070
#define REG_QUEUE_DESC_LOW 0x080
#define REG_QUEUE_DESC_HIGH 0x084
#define REG_QUEUE_DRIVER_LOW 0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW 0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_CONFIG 0x100

#define F_NEXT 1
#define F_WRITE 2

struct desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};

struct avail {
    u16 flags;
    u16 idx;
    u16 ring[QSIZE];
    u16 used_event;
};

struct used_elem {
    u32 id;
    u32 len;
};

struct used {
    u16 flags;
    u16 idx;
    struct used_elem ring[QSIZE];
    u16 avail_event;
};

struct queue {
    struct desc desc[QSIZE] __attribute__((aligned(16)));
    struct avail avail __attribute__((aligned(2)));
    struct used used __attribute__((aligned(4)));
    u16 last_used;
};

struct req_header {
    u32 type;
    u32 reserved;
    u64 sector;
};

/* The device the driver drives: the VMM's first slot unless virtio_found chose another. */
static u64 virtio_base = VIRTIO_BASE;

static inline u32 rd(u32 off) { return *(volatile u32 *)(virtio_base + off); }
static inline void wr(u32 off, u32 v) { *(volatile u32 *)(virtio_base + off) = v; }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

static inline int virtio_is(u64 base, u32 device_id)
{
    virtio_base = base;
    return rd(REG_MAGIC) == 0x74726976 && rd(REG_VERSION) == 2 && rd(REG_DEVICE_ID) == device_id;
}

/*
 * Whether the VMM's first slot holds a virtio-mmio (version 2) device of type device_id, or else
 * QEMU microvm's first device of that type (reads where nothing is mapped give 0 under QEMU).
 * Drives the device found from then on.
 */
static inline int virtio_found(u32 device_id)
{
    if (virtio_is(VIRTIO_BASE, device_id))
        return 1;
    for (int i = QEMU_MICROVM_SLOTS - 1; i >= 0; i--) {
        if (virtio_is(QEMU_MICROVM_BASE + 512ul * (u64)i, device_id))
            return 1;
    }
    virtio_base = VIRTIO_BASE;
    return 0;
}

/*
 * Resets the device and negotiates VIRTIO_F_VERSION_1 plus those of the low 32 feature bits in
 * wanted that the device offers. Returns the device's low 32 feature bits, or -1 when it refuses.
 */
static inline long virtio_negotiate(u32 wanted)
{
    wr(REG_STATUS, 0);
    wr(REG_STATUS, 1);
    wr(REG_STATUS, 1 | 2);
    wr(REG_DEVICE_FEATURES_SEL, 0);
    u32 offered = rd(REG_DEVICE_FEATURES);
    wr(REG_DRIVER_FEATURES_SEL, 0);
    wr(REG_DRIVER_FEATURES, offered & wanted);
    wr(REG_DRIVER_FEATURES_SEL, 1);
    wr(REG_DRIVER_FEATURES, 1); /* VIRTIO_F_VERSION_1 */
    wr(REG_STATUS, 1 | 2 | 8);
    return (rd(REG_STATUS) & 8) ? (long)offered : -1;
}

/* Points queue q at qu (QSIZE entries) and makes it ready; the driver polls, so no interrupts. */
static inline void virtio_queue(int q, struct queue *qu)
{
    wr(REG_QUEUE_SEL, q);
    wr(REG_QUEUE_NUM, QSIZE);
    wr(REG_QUEUE_DESC_LOW, (u32)(u64)qu->desc);
    wr(REG_QUEUE_DESC_HIGH, (u32)((u64)qu->desc >> 32));
    wr(REG_QUEUE_DRIVER_LOW, (u32)(u64)&qu->avail);
    wr(REG_QUEUE_DRIVER_HIGH, (u32)((u64)&qu->avail >> 32));
    wr(REG_QUEUE_DEVICE_LOW, (u32)(u64)&qu->used);
    wr(REG_QUEUE_DEVICE_HIGH, (u32)((u64)&qu->used >> 32));
    qu->avail.flags = 1;
    wr(REG_QUEUE_READY, 1);
}

/* The queues are set up: the device may start. */
static inline void virtio_driver_ok(void)
{
    wr(REG_STATUS, 1 | 2 | 4 | 8);
}

/* Publishes head on queue q, notifies, and polls until the device used a chain; returns its length. */
static inline u32 virtio_submit(int q, struct queue *qu, u16 head)
{
    qu->avail.ring[qu->avail.idx % QSIZE] = head;
    barrier();
    qu->avail.idx++;
    barrier();
    wr(REG_QUEUE_NOTIFY, q);
    while (*(volatile u16 *)&qu->used.idx == qu->last_used)
        __asm__ volatile("pause");
    barrier();
    struct used_elem e = qu->used.ring[qu->last_used % QSIZE];
    qu->last_used++;
    return e.len;
}

#endif
