/*
 * For disk-migration tests: counts n = 0, 1, 2, ... forever, and for each n writes sector
 * n mod (the disk's sector count) of the first virtio-blk disk with "STRATUS-COUNT <n>\n" padded
 * with zeros to 512 bytes, waits until the device has completed the write, then prints
 * "COUNT <n>\n". A migration that loses a disk write, or restarts the guest, shows as a sector
 * that does not hold its count, or in the console's count. Between steps it idles
 * count.delay=<loops> (kernel command line; default about 20 lines a second). Without a disk it
 * prints "COUNT-ERROR no disk" and halts; a failed write prints "COUNT-ERROR write <n> ..." and
 * halts. Polls the used ring (no interrupts) at CPL3, natively even where KVM emulates guest
 * kernel code. The disk is the VMM's first virtio-mmio slot: disks take the first slots.
 */
#include "virtio_mmio.h"

#define T_OUT 1

static struct queue queue __attribute__((aligned(4096)));
static struct req_header header;
static u8 data[512] __attribute__((aligned(512)));
static volatile u8 status;


/* Writes v in decimal at out; returns the digits written. */
static int format_dec(char *out, u64 v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Writes data to sector and polls until the device used the chain; returns the used length. */
static long write_sector(u64 sector)
{
    struct desc *d = queue.desc;
    header.type = T_OUT;
    header.reserved = 0;
    header.sector = sector;
    status = 0xff;
    d[0] = (struct desc){ (u64)&header, sizeof(header), F_NEXT, 1 };
    d[1] = (struct desc){ (u64)data, 512, F_NEXT, 2 };
    d[2] = (struct desc){ (u64)&status, 1, F_WRITE, 0 };
    /* No time limit: a migration may hold the guest between notify and completion. */
    return virtio_submit(0, &queue, 0);
}

static void fail(const char *what, u64 n, u64 value)
{
    puts("COUNT-ERROR ");
    puts(what);
    puts(" ");
    put_dec(n);
    puts(" ");
    put_dec(value);
    puts("\n");
    idle();
}

void user_main(const struct hvm_start_info *si)
{
    const char *cmdline = (const char *)si->cmdline_paddr;
    u64 delay = cmdline_option(cmdline, "count.delay=", 50000000);

    if (!virtio_found(2) || virtio_negotiate(0) < 0) {
        puts("COUNT-ERROR no disk\n");
        idle();
    }
    virtio_queue(0, &queue);
    virtio_driver_ok();

    u64 sectors = rd(REG_CONFIG) | (u64)rd(REG_CONFIG + 4) << 32;
    if (sectors == 0) {
        puts("COUNT-ERROR no disk\n");
        idle();
    }
    static const char prefix[] = "STRATUS-COUNT ";
    for (u64 n = 0;; n++) {
        int len = 0;
        for (; prefix[len]; len++)
            data[len] = (u8)prefix[len];
        len += format_dec((char *)data + len, n);
        data[len++] = '\n';
        for (int i = len; i < 512; i++)
            data[i] = 0;
        long used = write_sector(n % sectors);
        if (used < 1 || status != 0)
            fail("write", n, status);
        puts("COUNT ");
        put_dec(n);
        puts("\n");
        for (volatile u64 i = 0; i < delay; i++)
            ;
    }
}
