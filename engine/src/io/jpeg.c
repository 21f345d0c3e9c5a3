/*
 * jpeg.c -- JPEG input and output through libjpeg(-turbo). libjpeg reports fatal errors through
 * error_exit, which must not return: it longjmps back here, and the message (with the file name) becomes
 * the status. Warnings (a corrupt but decodable stream, "premature end of data") are errors too: a
 * silently grey-filled image is a wrong number. Decoding uses libjpeg's defaults (integer slow IDCT,
 * fancy upsampling), the same as PIL and imageio, so pixels match what the original code saw.
 */
#include "internal.h"

#include <errno.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <string.h>
#include <sys/stat.h>

#define JPEG_MAX_SIDE 65535
#define JPEG_MAX_PIXELS_PER_BYTE 4096u /* see nvp_jpeg_read */

typedef struct jpeg_error {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_error;

static void jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_error *err = (jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

/* Corrupt-data warnings (level -1) abort the decode; trace messages (level >= 0) are ignored. */
static void jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) jpeg_error_exit(cinfo);
}

nvp_status nvp_jpeg_read(nvp_images *image, const char *path, int32_t channels) {
    NVP_CHECK_PTR("nvp_jpeg_read", image);
    NVP_CHECK_PTR("nvp_jpeg_read", path);
    memset(image, 0, sizeof *image);
    if (channels != 1 && channels != 3)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: channels = %d (expected 1 or 3)", path, (int)channels);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return nvp_fail(NVP_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    struct jpeg_decompress_struct cinfo;
    jpeg_error err;
    /* volatile: assigned between setjmp and longjmp, read after it */
    uint8_t *volatile chw = NULL;
    uint8_t *volatile row = NULL;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_error_exit;
    err.mgr.emit_message = jpeg_emit_message;
    err.message[0] = '\0';
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        nvp_free(chw);
        free(row);
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: corrupt JPEG: %s", path, err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    /* Before libjpeg or we allocate for the header's size: Huffman coding spends at least 1 bit per
     * 8x8 block and component, so n bytes of file decode to at most 512 n pixels a component; 8x that
     * leaves room for odd but real files, and a 700-byte file claiming 65500 x 65500 is refused here
     * instead of costing 12 GB (an arithmetic-coded bomb is refused too). */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (uint64_t)cinfo.image_width * cinfo.image_height >
                                          JPEG_MAX_PIXELS_PER_BYTE * (uint64_t)st.st_size) {
        unsigned jw = cinfo.image_width, jh = cinfo.image_height;
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: JPEG of %u x %u pixels cannot come from %lld bytes; truncated or corrupt",
                        path, jw, jh, (long long)st.st_size);
    }
    cinfo.out_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_start_decompress(&cinfo);
    int32_t w = (int32_t)cinfo.output_width, h = (int32_t)cinfo.output_height;
    if (w < 1 || h < 1 || w > JPEG_MAX_SIDE || h > JPEG_MAX_SIDE || cinfo.output_components != channels) {
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: JPEG of %d x %d pixels, %d components (expected %d)", path,
                        (int)w, (int)h, (int)cinfo.output_components, (int)channels);
    }
    size_t plane = (size_t)w * (size_t)h;
    chw = nvp_alloc(plane * (size_t)channels);
    row = malloc((size_t)w * (size_t)channels);
    if (chw == NULL || row == NULL) {
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        nvp_free(chw);
        free(row);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: out of memory for a %d x %d JPEG", path, (int)w, (int)h);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        for (int32_t x = 0; x < w; x++)
            for (int32_t k = 0; k < channels; k++)
                chw[(size_t)k * plane + y * (size_t)w + (size_t)x] = row[(size_t)x * (size_t)channels + (size_t)k];
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    free(row);
    image->data = chw;
    image->count = 1;
    image->channels = channels;
    image->height = h;
    image->width = w;
    return NVP_OK;
}

nvp_status nvp_jpeg_write(const char *path, const uint8_t *pixels, int32_t width, int32_t height, int32_t channels,
                          int32_t quality) {
    NVP_CHECK_PTR("nvp_jpeg_write", path);
    NVP_CHECK_PTR("nvp_jpeg_write", pixels);
    if (width < 1 || height < 1 || width > JPEG_MAX_SIDE || height > JPEG_MAX_SIDE)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: cannot write a %d x %d JPEG", path, (int)width, (int)height);
    if (channels != 1 && channels != 3)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: JPEG needs 1 or 3 channels, got %d", path, (int)channels);
    if (quality < 1 || quality > 100)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: JPEG quality %d (expected 1-100)", path, (int)quality);
    FILE *f = fopen(path, "wb");
    if (f == NULL) return nvp_fail(NVP_STATUS_IO, "%s: cannot write: %s", path, strerror(errno));
    struct jpeg_compress_struct cinfo;
    jpeg_error err;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_error_exit;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        fclose(f);
        remove(path);
        return nvp_fail(NVP_STATUS_IO, "%s: JPEG write failed: %s", path, err.message);
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[1] = {(JSAMPROW)(pixels + cinfo.next_scanline * stride)};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (fclose(f) != 0) {
        remove(path);
        return nvp_fail(NVP_STATUS_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    return NVP_OK;
}
