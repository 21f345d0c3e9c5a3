/*
 * png.c -- 8-bit PNG output through libpng (gray or RGB). libpng reports errors by longjmp; they
 * are caught here and turned into a status, and a partly written file is removed.
 */
#include "internal.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <string.h>

static void png_error_to_message(png_structp png, png_const_charp msg) {
    char *buf = png_get_error_ptr(png);
    snprintf(buf, 256, "%s", msg);
    png_longjmp(png, 1);
}

static void png_ignore_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

nvp_status nvp_png_write(const char *path, const uint8_t *pixels, int32_t width, int32_t height,
                         int32_t channels) {
    NVP_CHECK_PTR("nvp_png_write", path);
    NVP_CHECK_PTR("nvp_png_write", pixels);
    if (width < 1 || height < 1 || width > 1000000 || height > 1000000)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: cannot write a %d x %d PNG", path, width, height);
    if (channels != 1 && channels != 3)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: PNG needs 1 (gray) or 3 (RGB) channels, got %d", path, channels);
    FILE *f = fopen(path, "wb");
    if (f == NULL) return nvp_fail(NVP_STATUS_IO, "%s: cannot write: %s", path, strerror(errno));
    char message[256] = "";
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, message, png_error_to_message,
                                              png_ignore_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (png == NULL || info == NULL) {
        png_destroy_write_struct(&png, NULL);
        fclose(f);
        remove(path);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: libpng could not start", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        remove(path);
        return nvp_fail(NVP_STATUS_IO, "%s: PNG write failed: %s", path, message);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t stride = (size_t)width * (size_t)channels;
    for (int32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * stride));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        remove(path);
        return nvp_fail(NVP_STATUS_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    return NVP_OK;
}
