/* alloc.c -- 64-byte aligned buffers (one cache line; an AVX2 load never splits a line). */
#include "internal.h"

#include <stdlib.h>

void *nvp_alloc(size_t nbytes) {
    size_t rounded = (nbytes + 63) & ~(size_t)63;
    if (rounded < nbytes) {
        nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_alloc: %zu bytes overflows", nbytes);
        return NULL;
    }
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (p == NULL) nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_alloc: out of memory for %zu bytes", nbytes);
    return p;
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
