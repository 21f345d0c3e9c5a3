/*
 * fuzz_file.h -- the parsers take a path, libFuzzer gives bytes: put the bytes in an anonymous
 * in-memory file (memfd, so no disk traffic and nothing left behind) and hand out its
 * /proc/self/fd path. One file per process, rewritten for every input.
 */
#ifndef NVP_FUZZ_FILE_H
#define NVP_FUZZ_FILE_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The path of a file holding exactly data[0..size). Aborts if the memfd cannot be made (a harness
 * set-up failure, not a finding). */
static inline const char *fuzz_file_of(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("nvp-fuzz", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz_file_of: write");
        abort();
    }
    return path;
}

/* Read every byte of p[0..n) (ASan reports any that is not addressable) so that a success that
 * describes more bytes than it returned is a finding. */
static inline void fuzz_touch(const uint8_t *p, uint64_t n) {
    uint8_t sum = 0;
    for (uint64_t i = 0; i < n; i++) sum = (uint8_t)(sum + p[i]);
    volatile uint8_t sink = sum;
    (void)sink;
}

#endif
