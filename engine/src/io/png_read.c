/*
 * png_read.c -- 8-bit PNG input through libpng's simplified API (png_image), which turns every
 * libpng error into a return value: 16-bit samples are reduced, palettes expanded, alpha dropped
 * (composited on black is NOT done: the colour channels are kept as stored), gray replicated to RGB
 * or RGB converted to gray as asked. The result is CHW, like every nvp image batch.
 */
#include "internal.h"

#include <errno.h>
#include <png.h>
#include <string.h>
#include <sys/stat.h>

#define PNG_MAX_SIDE 65535

/* dst: (c, h, w) from src: (h, w, c) interleaved. */
static void png_hwc_to_chw(uint8_t *dst, const uint8_t *src, int32_t c, int32_t h, int32_t w) {
    size_t plane = (size_t)h * (size_t)w;
    for (size_t p = 0; p < plane; p++)
        for (int32_t k = 0; k < c; k++) dst[(size_t)k * plane + p] = src[p * (size_t)c + (size_t)k];
}

nvp_status nvp_png_read(nvp_images *image, const char *path, int32_t channels) {
    NVP_CHECK_PTR("nvp_png_read", image);
    NVP_CHECK_PTR("nvp_png_read", path);
    memset(image, 0, sizeof *image);
    if (channels != 1 && channels != 3)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: channels = %d (expected 1 or 3)", path, (int)channels);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return nvp_fail(NVP_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&png, f)) {
        fclose(f);
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: not a readable PNG: %s", path, png.message);
    }
    if (png.width < 1 || png.height < 1 || png.width > PNG_MAX_SIDE || png.height > PNG_MAX_SIDE) {
        png_image_free(&png);
        fclose(f);
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: PNG of %u x %u pixels (at most %d a side)", path,
                        (unsigned)png.width, (unsigned)png.height, PNG_MAX_SIDE);
    }
    /* Before allocating w x h: a file of n bytes cannot hold more than 1032 n bytes of rows (deflate's
     * largest expansion), and each row takes at least 1 + ceil(w / 8) bytes (filter byte, 1-bit pixels),
     * so a tiny file claiming a huge image is refused instead of costing gigabytes. */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 &&
        (uint64_t)png.height * (1 + ((uint64_t)png.width + 7) / 8) > 1032u * (uint64_t)st.st_size) {
        png_image_free(&png);
        fclose(f);
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: PNG of %u x %u pixels cannot come from %lld bytes; truncated or corrupt",
                        path, (unsigned)png.width, (unsigned)png.height, (long long)st.st_size);
    }
    png.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    int32_t w = (int32_t)png.width, h = (int32_t)png.height;
    size_t bytes = (size_t)w * (size_t)h * (size_t)channels;
    uint8_t *hwc = malloc(bytes);
    uint8_t *chw = nvp_alloc(bytes);
    if (hwc == NULL || chw == NULL) {
        free(hwc);
        nvp_free(chw);
        png_image_free(&png);
        fclose(f);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: out of memory for a %d x %d PNG", path, (int)w, (int)h);
    }
    int ok = png_image_finish_read(&png, NULL, hwc, 0, NULL);
    fclose(f);
    if (!ok) {
        nvp_status st = nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: corrupt PNG: %s", path, png.message);
        png_image_free(&png);
        free(hwc);
        nvp_free(chw);
        return st;
    }
    png_hwc_to_chw(chw, hwc, channels, h, w);
    free(hwc);
    image->data = chw;
    image->count = 1;
    image->channels = channels;
    image->height = h;
    image->width = w;
    return NVP_OK;
}
