/*
 * In-guest block benchmark: sequential or random reads or writes with O_DIRECT on
 * a block device, timed with CLOCK_MONOTONIC inside the guest.
 *
 *   blkbench DEVICE seqread|seqwrite|randread|randwrite BLOCK_SIZE COUNT
 *
 * Prints: BLKBENCH mode=M bs=B ops=N bytes=X usec=U
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: blkbench DEVICE seqread|seqwrite|randread|randwrite BLOCK_SIZE COUNT\n");
        return 2;
    }
    const char *mode = argv[2];
    size_t bs = strtoul(argv[3], NULL, 0);
    long count = strtol(argv[4], NULL, 0);
    int write = strstr(mode, "write") != NULL;
    int random = strncmp(mode, "rand", 4) == 0;
    int fd = open(argv[1], (write ? O_RDWR : O_RDONLY) | O_DIRECT);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0 || size < bs) {
        perror("BLKGETSIZE64");
        return 1;
    }
    void *buf;
    if (posix_memalign(&buf, 4096, bs) != 0)
        return 1;
    memset(buf, 0x5a, bs);
    uint64_t blocks = size / bs;
    uint64_t state = 0x9e3779b97f4a7c15ull;
    uint64_t start = now_usec();
    for (long i = 0; i < count; i++) {
        uint64_t block;
        if (random) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            block = state % blocks;
        } else {
            block = (uint64_t)i % blocks;
        }
        ssize_t n = write ? pwrite(fd, buf, bs, (off_t)(block * bs)) : pread(fd, buf, bs, (off_t)(block * bs));
        if (n != (ssize_t)bs) {
            perror(write ? "pwrite" : "pread");
            return 1;
        }
    }
    if (write)
        fdatasync(fd);
    uint64_t usec = now_usec() - start;
    printf("BLKBENCH mode=%s bs=%zu ops=%ld bytes=%llu usec=%llu\n", mode, bs, count,
           (unsigned long long)(bs * (uint64_t)count), (unsigned long long)usec);
    return 0;
}
