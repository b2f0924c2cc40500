/*
 * A minimal virtio-blk driver over virtio-mmio, in user mode, polling the used
 * ring: reads, writes, flushes, GET_ID, a request beyond the disk, and chains a
 * hostile guest would build (out-of-range descriptor, a loop, a buffer outside
 * RAM, an available index that jumps). Every result is printed for the test to
 * check. The device is the VMM's first virtio-mmio slot.
 */
#include "virtio_mmio.h"


static struct queue queues[2] __attribute__((aligned(4096)));
static struct req_header header;
static u8 data[512] __attribute__((aligned(512)));
static u8 status;


/* Publishes head, notifies, and polls for its completion; returns the used length or -1. */
static long submit(int q, u16 head)
{
    struct queue *qu = &queues[q];
    qu->avail.ring[qu->avail.idx % QSIZE] = head;
    barrier();
    qu->avail.idx++;
    barrier();
    wr(REG_QUEUE_NOTIFY, q);
    for (u64 spin = 0; spin < 4000000000ul; spin++) {
        if (*(volatile u16 *)&qu->used.idx != qu->last_used) {
            struct used_elem e = qu->used.ring[qu->last_used % QSIZE];
            qu->last_used++;
            return e.len;
        }
        __asm__ volatile("pause");
    }
    return -1;
}

static long request(int q, u32 type, u64 sector, int data_len, int device_writes)
{
    struct desc *d = queues[q].desc;
    header.type = type;
    header.reserved = 0;
    header.sector = sector;
    status = 0xff;
    d[0] = (struct desc){ (u64)&header, sizeof(header), F_NEXT, 1 };
    if (data_len) {
        d[1] = (struct desc){ (u64)data, (u32)data_len, (u16)(F_NEXT | (device_writes ? F_WRITE : 0)), 2 };
        d[2] = (struct desc){ (u64)&status, 1, F_WRITE, 0 };
    } else {
        d[1] = (struct desc){ (u64)&status, 1, F_WRITE, 0 };
    }
    return submit(q, 0);
}

static void report(const char *what, long len)
{
    puts("blkdrv ");
    puts(what);
    puts(" len=");
    if (len < 0) {
        puts("timeout");
    } else {
        put_dec((u64)len);
    }
    puts(" status=");
    put_dec(status);
    puts("\n");
}

void user_main(const struct hvm_start_info *si)
{
    (void)si;
    if (!virtio_found(2)) {
        puts("blkdrv no virtio-blk device\n");
        return;
    }
    long features = virtio_negotiate(1u << 9 | 1u << 5); /* FLUSH, RO */
    if (features < 0) {
        puts("blkdrv features refused\n");
        return;
    }
    virtio_queue(0, &queues[0]);
    wr(REG_QUEUE_SEL, 1);
    int two_queues = rd(REG_QUEUE_NUM_MAX) != 0;
    if (two_queues)
        virtio_queue(1, &queues[1]);
    virtio_driver_ok();

    u64 capacity = rd(REG_CONFIG) | (u64)rd(REG_CONFIG + 4) << 32;
    puts("blkdrv capacity=");
    put_dec(capacity);
    puts(" ro=");
    put_dec((features >> 5) & 1);
    puts(" queues=");
    put_dec(two_queues ? 2 : 1);
    puts("\n");

    report("read0", request(0, 0, 0, 512, 1));
    data[32] = 0;
    puts("blkdrv sector0=");
    puts((const char *)data);
    puts("\n");

    const char *pattern = "STRATUS-BLK-WRITE-PATTERN";
    for (int i = 0; i < 512; i++)
        data[i] = (u8)(pattern[i % 25]);
    report("write2", request(0, 1, 2, 512, 0));
    report("flush", request(0, 4, 0, 0, 0));
    for (int i = 0; i < 512; i++)
        data[i] = 0;
    report("read2", request(0, 0, 2, 512, 1));
    int same = 1;
    for (int i = 0; i < 512; i++)
        same &= data[i] == (u8)pattern[i % 25];
    puts(same ? "blkdrv readback=match\n" : "blkdrv readback=differs\n");

    for (int i = 0; i < 32; i++)
        data[i] = 0;
    report("getid", request(0, 8, 0, 20, 1));
    puts("blkdrv id=");
    puts((const char *)data);
    puts("\n");

    report("beyond-end", request(0, 0, capacity, 512, 1));
    report("unsupported", request(0, 99, 0, 0, 0));

    /* Hostile chains: each must come back empty, and the queue must keep working. */
    struct desc *d = queues[0].desc;
    status = 0xff;
    d[0] = (struct desc){ (u64)&header, sizeof(header), F_NEXT, 200 };
    report("bad-index", submit(0, 0));
    d[0] = (struct desc){ (u64)&header, sizeof(header), F_NEXT, 1 };
    d[1] = (struct desc){ (u64)data, 512, F_NEXT | F_WRITE, 0 };
    report("loop", submit(0, 0));
    d[0] = (struct desc){ 0x7ffffff00000ul, 4096, F_NEXT, 1 };
    d[1] = (struct desc){ (u64)&status, 1, F_WRITE, 0 };
    report("outside-ram", submit(0, 0));
    d[0] = (struct desc){ (u64)&header, 0xfffffff0u, F_NEXT, 1 };
    report("huge-length", submit(0, 0));
    report("after-hostile", request(0, 0, 2, 512, 1));

    if (two_queues) {
        /* An available index that jumps breaks queue 0 for good; queue 1 goes on. */
        queues[0].avail.idx += 100;
        wr(REG_QUEUE_NOTIFY, 0);
        for (u64 spin = 0; spin < 200000000ul && !(rd(REG_STATUS) & 0x40); spin++)
            __asm__ volatile("pause");
        puts("blkdrv needs-reset=");
        put_dec((rd(REG_STATUS) >> 6) & 1);
        puts("\n");
        report("queue1", request(1, 0, 2, 512, 1));
    }
    puts("STRATUS-BLKDRV-END\n");
}
