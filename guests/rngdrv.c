/*
 * A minimal virtio-rng driver, polling from user mode: the VMM's first virtio-mmio device must
 * be an entropy device. Asks twice for 64 bytes and prints "rngdrv len=<n> zero=<zero bytes>
 * <first 8 bytes in hex>" for each, then offers a device-readable buffer, which the device must
 * give back empty ("rngdrv readable len=<n>"), and asks once more ("rngdrv after len=<n>").
 */
#include "virtio_mmio.h"

static struct queue queue __attribute__((aligned(4096)));
static u8 buf[64];

static u32 ask(u16 flags)
{
    for (int i = 0; i < 64; i++)
        buf[i] = 0;
    queue.desc[0] = (struct desc){ (u64)buf, sizeof(buf), flags, 0 };
    return virtio_submit(0, &queue, 0);
}

static void report(u32 len)
{
    int zero = 0;
    u64 first = 0;
    for (int i = 0; i < 64; i++) {
        zero += buf[i] == 0;
        if (i < 8)
            first |= (u64)buf[i] << (8 * i);
    }
    puts("rngdrv len=");
    put_dec(len);
    puts(" zero=");
    put_dec(zero);
    puts(" ");
    put_hex(first);
    puts("\n");
}

void user_main(const struct hvm_start_info *si)
{
    (void)si;
    if (!virtio_found(4) || virtio_negotiate(0) < 0) {
        puts("rngdrv no entropy device\n");
        return;
    }
    virtio_queue(0, &queue);
    virtio_driver_ok();
    report(ask(F_WRITE));
    report(ask(F_WRITE));
    puts("rngdrv readable len=");
    put_dec(ask(0));
    puts("\nrngdrv after len=");
    put_dec(ask(F_WRITE));
    puts("\nSTRATUS-RNGDRV-END\n");
}
