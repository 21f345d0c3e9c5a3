/*
 * fuzz_jpeg.c -- libFuzzer harness for the JPEG reader (engine/src/io/jpeg.c, over libjpeg-turbo): the
 * input is one file, decoded to 3 channels and, if that works, to 1. A success must return one
 * image of the asked channels whose every byte is readable; a failure one line of message.
 */
#include "fuzz_file.h"
#include "nvp.h"

#include <string.h>

static void decode(const char *path, int32_t channels, int *ok) {
    nvp_images image;
    if (nvp_jpeg_read(&image, path, channels) == NVP_OK) {
        if (image.count != 1 || image.channels != channels || image.height < 1 || image.width < 1) abort();
        fuzz_touch(image.data, (uint64_t)channels * (uint64_t)image.height * (uint64_t)image.width);
        nvp_images_free(&image);
        *ok = 1;
    } else if (image.data != NULL || strlen(nvp_last_error()) == 0 || strchr(nvp_last_error(), '\n') != NULL) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file_of(data, size);
    int ok = 0;
    decode(path, 3, &ok);
    if (ok) decode(path, 1, &ok);
    return 0;
}
