/*
 * fuzz_cifar.c -- libFuzzer harness for the CIFAR-10 binary reader (engine/src/io/cifar.c): the
 * input is one batch file (plain or gzip'd). A success must return records/3073 images of 3x32x32
 * with labels 0-9; a failure one line of message.
 */
#include "fuzz_file.h"
#include "nvp.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file_of(data, size);
    const char *paths[1] = {path};
    nvp_images images;
    uint8_t *labels = NULL;
    if (nvp_cifar_read(&images, &labels, paths, 1) == NVP_OK) {
        if (images.channels != 3 || images.height != 32 || images.width != 32 || images.count < 1) abort();
        fuzz_touch(images.data, (uint64_t)images.count * 3072);
        for (int64_t i = 0; i < images.count; i++)
            if (labels[i] > 9) abort();
        nvp_images_free(&images);
        nvp_free(labels);
    } else if (labels != NULL || images.data != NULL || strlen(nvp_last_error()) == 0 ||
               strchr(nvp_last_error(), '\n') != NULL) {
        abort();
    }
    return 0;
}
