/*
 * fuzz_idx.c -- libFuzzer harness for the IDX reader (engine/src/io/idx.c): the input is one file,
 * read both as images and as labels (plain or gzip'd, zlib decides). Any outcome but a crash, a
 * sanitizer report or a success with an inconsistent result is fine; a success must describe
 * exactly the bytes it returned.
 */
#include "fuzz_file.h"
#include "nvp.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file_of(data, size);
    nvp_images images;
    if (nvp_idx_read_images(&images, path) == NVP_OK) {
        uint64_t n = (uint64_t)images.count * (uint64_t)images.height * (uint64_t)images.width;
        if (images.channels != 1 || images.height < 1 || images.width < 1 || images.count < 0) abort();
        fuzz_touch(images.data, n);
        nvp_images_free(&images);
    } else if (strlen(nvp_last_error()) == 0 || strchr(nvp_last_error(), '\n') != NULL) {
        abort(); /* a failure must explain itself in one line */
    }
    uint8_t *labels = NULL;
    int64_t count = -1;
    if (nvp_idx_read_labels(&labels, &count, path) == NVP_OK) {
        fuzz_touch(labels, (uint64_t)count);
        nvp_free(labels);
    } else if (labels != NULL || strlen(nvp_last_error()) == 0 || strchr(nvp_last_error(), '\n') != NULL) {
        abort();
    }
    return 0;
}
