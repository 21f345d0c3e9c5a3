/* alloc.c -- 64-byte aligned buffers (one cache line; an AVX2 load never splits a line). */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Every successful nvp_alloc, for nvp_alloc_stats (kernels allocate scratch from worker threads). */
static atomic_llong alloc_count;
static atomic_llong alloc_bytes;

void *nvp_alloc(size_t nbytes) {
    size_t rounded = (nbytes + 63) & ~(size_t)63;
    if (rounded < nbytes) {
        nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_alloc: %zu bytes overflows", nbytes);
        return NULL;
    }
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (p == NULL) {
        nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_alloc: out of memory for %zu bytes", nbytes);
        return NULL;
    }
    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&alloc_bytes, (long long)nbytes, memory_order_relaxed);
    return p;
}

void nvp_alloc_stats(int64_t *count, int64_t *bytes) {
    if (count) *count = atomic_load_explicit(&alloc_count, memory_order_relaxed);
    if (bytes) *bytes = atomic_load_explicit(&alloc_bytes, memory_order_relaxed);
}

void nvp_free(void *p) { free(p); }

void nvp_images_free(nvp_images *images) {
    if (images == NULL) return;
    nvp_free(images->data);
    images->data = NULL;
    images->count = 0;
}

size_t nvp_abi_sizeof_images(void) { return sizeof(nvp_images); }

size_t nvp_abi_offsetof_images(int field) {
    switch (field) {
    case 0: return offsetof(nvp_images, data);
    case 1: return offsetof(nvp_images, count);
    case 2: return offsetof(nvp_images, channels);
    case 3: return offsetof(nvp_images, height);
    case 4: return offsetof(nvp_images, width);
    default: return (size_t)-1;
    }
}
