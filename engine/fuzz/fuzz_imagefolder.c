/*
 * fuzz_imagefolder.c -- libFuzzer harness for an image folder's decode-and-preprocess path
 * (engine/src/io/imagefolder.c: PNG or JPEG by the first bytes, then the size check, crop, bilinear
 * resize and pyramid reduce of kernels/resize.c). The first 8 input bytes choose the preprocessing
 * (sizes 0-63, so that hostile crops and resizes are tried against whatever the file decodes to); the
 * rest is the file. One bad file must fail alone with a one-line message, never crash.
 */
#include "fuzz_file.h"
#include "nvp.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 8) return 0;
    nvp_preprocess pre;
    memset(&pre, 0, sizeof pre);
    pre.channels = data[0] & 1 ? 3 : 1;
    if (data[0] & 2) { /* crop */
        pre.crop_y = data[1] & 63;
        pre.crop_x = data[2] & 63;
        pre.crop_height = (data[3] & 63) + 1;
        pre.crop_width = (data[4] & 63) + 1;
    }
    if (data[0] & 4) { /* resize */
        pre.resize_height = (data[5] & 63) + 1;
        pre.resize_width = (data[6] & 63) + 1;
    }
    if (data[0] & 8) pre.smallest_side = (data[7] & 63) + 1;
    if (data[0] & 16) { /* the size every file must have */
        pre.expect_height = (data[1] >> 2) + 1;
        pre.expect_width = (data[2] >> 2) + 1;
    }
    const char *path = fuzz_file_of(data + 8, size - 8);
    const char *paths[1] = {path};
    nvp_images image;
    int32_t status = -1;
    char message[512];
    if (nvp_images_decode(&image, &status, message, (int32_t)sizeof message, paths, 1, &pre) != NVP_OK) abort();
    if (status == NVP_OK) {
        if (image.count != 1 || image.channels != pre.channels || image.height < 1 || image.width < 1) abort();
        fuzz_touch(image.data, (uint64_t)image.channels * (uint64_t)image.height * (uint64_t)image.width);
        nvp_images_free(&image);
    } else if (message[0] == '\0' || strchr(message, '\n') != NULL) {
        abort();
    }
    return 0;
}
