/*
 * imagefolder.c -- decoding the files of an image folder: one file by its first bytes (PNG or JPEG,
 * whatever its name says), and a list of files in parallel with a dataset's preprocessing
 * (nvp_preprocess: size check, crop, bilinear resize, pyramid reduce; kernels/resize.c). One bad file
 * fails alone: its status and one-line message come back beside the others' images, and the caller
 * skips or refuses as the recipe says. Listing and sorting the folder is Lua's (lua/nvp/data/folder.lua).
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

nvp_status nvp_image_read(nvp_images *image, const char *path, int32_t channels) {
    NVP_CHECK_PTR("nvp_image_read", image);
    NVP_CHECK_PTR("nvp_image_read", path);
    memset(image, 0, sizeof *image);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return nvp_fail(NVP_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[12] = {0};
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (got >= 8 && memcmp(magic, png_magic, 8) == 0) return nvp_png_read(image, path, channels);
    if (got >= 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff) return nvp_jpeg_read(image, path, channels);
    if (got >= 12 && memcmp(magic, "RIFF", 4) == 0 && memcmp(magic + 8, "WEBP", 4) == 0)
        return nvp_fail(NVP_STATUS_UNSUPPORTED, "%s: a WebP image; nvp reads PNG and JPEG (convert it, e.g. dwebp)",
                        path);
    return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: neither PNG nor JPEG (%zu bytes read, first byte 0x%02x)", path, got,
                    got > 0 ? magic[0] : 0);
}

/* Replace *img (owned) by step(*img); frees the old pixels. */
static nvp_status replace_image(nvp_images *img, uint8_t *pixels, int32_t h, int32_t w) {
    nvp_free(img->data);
    img->data = pixels;
    img->height = h;
    img->width = w;
    return NVP_OK;
}

/* One file through the whole preprocessing. */
static nvp_status decode_one(nvp_images *img, const char *path, const nvp_preprocess *pre) {
    nvp_status st = nvp_image_read(img, path, pre->channels);
    if (st != NVP_OK) return st;
    int32_t c = img->channels;
    if ((pre->expect_height > 0 && img->height != pre->expect_height) ||
        (pre->expect_width > 0 && img->width != pre->expect_width))
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: %d x %d pixels (height x width), expected %d x %d", path,
                        (int)img->height, (int)img->width, (int)pre->expect_height, (int)pre->expect_width);
    if (pre->crop_height > 0) {
        uint8_t *out = nvp_alloc((size_t)c * (size_t)pre->crop_height * (size_t)pre->crop_width);
        if (out == NULL) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: out of memory", path);
        st = nvp_crop_u8(out, img->data, c, img->height, img->width, pre->crop_y, pre->crop_x, pre->crop_height,
                         pre->crop_width, 0);
        if (st != NVP_OK) {
            nvp_free(out);
            return nvp_fail(st, "%s: %s", path, nvp_last_error());
        }
        replace_image(img, out, pre->crop_height, pre->crop_width);
    }
    if (pre->resize_height > 0) {
        uint8_t *out = nvp_alloc((size_t)c * (size_t)pre->resize_height * (size_t)pre->resize_width);
        if (out == NULL) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: out of memory", path);
        st = nvp_resize_bilinear_u8(out, img->data, c, img->height, img->width, pre->resize_height, pre->resize_width);
        if (st != NVP_OK) {
            nvp_free(out);
            return nvp_fail(st, "%s: %s", path, nvp_last_error());
        }
        replace_image(img, out, pre->resize_height, pre->resize_width);
    }
    /* An image whose smaller side already is the target is kept as it is: skimage's pyramid_reduce
     * would still smooth it (sigma 1/3 at downscale 1), which no dataset of the paper meets (LSUN's
     * smaller sides are 256) and which would blur a folder of images that already have the size. */
    int32_t smaller = img->height < img->width ? img->height : img->width;
    if (pre->smallest_side > 0 && smaller != pre->smallest_side) {
        int32_t oh, ow;
        st = nvp_pyramid_reduce_size(&oh, &ow, img->height, img->width, pre->smallest_side);
        if (st != NVP_OK) return nvp_fail(st, "%s: %s", path, nvp_last_error());
        uint8_t *out = nvp_alloc((size_t)c * (size_t)oh * (size_t)ow);
        if (out == NULL) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: out of memory", path);
        st = nvp_pyramid_reduce_u8(out, img->data, c, img->height, img->width, pre->smallest_side);
        if (st != NVP_OK) {
            nvp_free(out);
            return nvp_fail(st, "%s: %s", path, nvp_last_error());
        }
        replace_image(img, out, oh, ow);
    }
    return NVP_OK;
}

nvp_status nvp_images_decode(nvp_images *images, int32_t *status, char *messages, int32_t message_size,
                             const char *const *paths, int32_t n, const nvp_preprocess *pre) {
    NVP_CHECK_PTR("nvp_images_decode", images);
    NVP_CHECK_PTR("nvp_images_decode", status);
    NVP_CHECK_PTR("nvp_images_decode", paths);
    NVP_CHECK_PTR("nvp_images_decode", pre);
    NVP_CHECK_SIZE("nvp_images_decode", n);
    if (messages != NULL && message_size < 1)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_images_decode: message_size = %d", (int)message_size);
    if (pre->channels != 1 && pre->channels != 3)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_images_decode: channels = %d (expected 1 or 3)", (int)pre->channels);
    if (pre->crop_height < 0 || pre->crop_width < 0 || (pre->crop_height > 0) != (pre->crop_width > 0) ||
        pre->resize_height < 0 || pre->resize_width < 0 || (pre->resize_height > 0) != (pre->resize_width > 0) ||
        pre->smallest_side < 0)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_images_decode: crop %d x %d, resize %d x %d, smallest side %d",
                        (int)pre->crop_height, (int)pre->crop_width, (int)pre->resize_height, (int)pre->resize_width,
                        (int)pre->smallest_side);
    for (int32_t i = 0; i < n; i++)
        if (paths[i] == NULL) return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_images_decode: paths[%d] is NULL", (int)i);
    memset(images, 0, sizeof *images * (size_t)n);
#pragma omp parallel for schedule(dynamic, 4) if (n > 1)
    for (int32_t i = 0; i < n; i++) {
        status[i] = decode_one(&images[i], paths[i], pre);
        if (status[i] != NVP_OK) {
            nvp_images_free(&images[i]);
            if (messages != NULL)
                snprintf(messages + (size_t)i * (size_t)message_size, (size_t)message_size, "%s", nvp_last_error());
        } else if (messages != NULL) {
            messages[(size_t)i * (size_t)message_size] = '\0';
        }
    }
    return NVP_OK;
}
