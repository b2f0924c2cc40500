/*
 * The virtio-mmio registers and the split virtqueue's layout (virtio 1.x), for the test guests
 * that drive the VMM's first virtio-mmio device themselves (blkdrv, diskcount): one queue of
 * QSIZE entries, polled from user mode.
 */
#ifndef VIRTIO_MMIO_H
#define VIRTIO_MMIO_H

#include "guest.h"

#define VIRTIO_BASE 0xd0000000ul
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

static inline u32 rd(u32 off) { return *(volatile u32 *)(VIRTIO_BASE + off); }
static inline void wr(u32 off, u32 v) { *(volatile u32 *)(VIRTIO_BASE + off) = v; }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

#endif
