/*
 * webp.c -- animated WebP output (the manifold animation of colour models) through libwebp's
 * WebPAnimEncoder (libwebpmux): full colour where the GIF's fixed 252-colour palette posterises
 * natural images. Not a decoder: nvp never reads WebP (specs decode with libwebpdemux).
 *
 * Every frame is a full canvas; the encoder finds the changed sub-rectangles itself. quality < 0
 * asks for lossless frames (every pixel exact, effort 75 of 100); quality 0..100 for lossy ones
 * (YUV 4:2:0, the usual photographic trade-off). The animation loops forever, each frame shown for
 * delay milliseconds. The file is written atomically (nvp_file_write_atomic).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <webp/encode.h>
#include <webp/mux.h>

// frames: (nframes, height, width, channels) interleaved
nvp_status nvp_webp_write(const char *path, const uint8_t *frames, int32_t width, int32_t height, int32_t channels,
                          int32_t nframes, int32_t delay_ms, int32_t quality) {
    NVP_CHECK_PTR("nvp_webp_write", path);
    NVP_CHECK_PTR("nvp_webp_write", frames);
    if (width < 1 || height < 1 || width > WEBP_MAX_DIMENSION || height > WEBP_MAX_DIMENSION)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: cannot write a %d x %d WebP (sides 1..%d)", path, width, height,
                        WEBP_MAX_DIMENSION);
    if (channels != 1 && channels != 3)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: WebP needs 1 (gray) or 3 (RGB) channels, got %d", path, channels);
    if (nframes < 1) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: a WebP animation needs at least 1 frame, got %d", path,
                                     nframes);
    if (delay_ms < 1 || delay_ms > (1 << 24) - 1)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: frame delay %d is outside 1..16777215 milliseconds", path, delay_ms);
    if ((int64_t)delay_ms * nframes > 0x7fffffff)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: %d frames of %d ms overflow the timestamps", path, nframes, delay_ms);
    if (quality > 100)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: WebP quality %d is outside 0..100 (or < 0 for lossless)", path,
                        quality);

    WebPAnimEncoderOptions options;
    WebPConfig config;
    if (!WebPAnimEncoderOptionsInit(&options) || !WebPConfigInit(&config))
        return nvp_fail(NVP_STATUS_IO, "%s: libwebp version mismatch (headers vs library)", path);
    options.anim_params.loop_count = 0; /* forever */
    if (quality < 0) {
        config.lossless = 1;
        config.quality = 75; /* lossless: effort, not fidelity */
        config.method = 4;
        config.exact = 1;
    } else {
        config.quality = (float)quality;
        config.method = 4;
    }
    if (!WebPValidateConfig(&config)) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: invalid WebP settings", path);

    int64_t plane = (int64_t)width * height;
    uint8_t *rgb = channels == 1 ? nvp_alloc((size_t)plane * 3) : NULL;
    WebPAnimEncoder *enc = WebPAnimEncoderNew(width, height, &options);
    if (enc == NULL || (channels == 1 && rgb == NULL)) {
        if (enc != NULL) WebPAnimEncoderDelete(enc);
        nvp_free(rgb);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: no memory for a %d x %d WebP encoder", path, width, height);
    }

    nvp_status status = NVP_OK;
    for (int32_t k = 0; k < nframes && status == NVP_OK; k++) {
        const uint8_t *src = frames + (size_t)k * (size_t)plane * (size_t)channels;
        if (channels == 1) {
            for (int64_t i = 0; i < plane; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = src[i];
            src = rgb;
        }
        WebPPicture pic;
        if (!WebPPictureInit(&pic)) {
            status = nvp_fail(NVP_STATUS_IO, "%s: libwebp version mismatch (headers vs library)", path);
            break;
        }
        pic.width = width;
        pic.height = height;
        pic.use_argb = 1;
        if (!WebPPictureImportRGB(&pic, src, width * 3)) {
            status = nvp_fail(NVP_STATUS_NO_MEMORY, "%s: no memory for WebP frame %d", path, k);
        } else if (!WebPAnimEncoderAdd(enc, &pic, k * delay_ms, &config)) {
            status = nvp_fail(NVP_STATUS_IO, "%s: WebP frame %d: %s", path, k, WebPAnimEncoderGetError(enc));
        }
        WebPPictureFree(&pic);
    }

    WebPData data;
    WebPDataInit(&data);
    if (status == NVP_OK && (!WebPAnimEncoderAdd(enc, NULL, nframes * delay_ms, NULL) ||
                             !WebPAnimEncoderAssemble(enc, &data)))
        status = nvp_fail(NVP_STATUS_IO, "%s: WebP assembly: %s", path, WebPAnimEncoderGetError(enc));
    WebPAnimEncoderDelete(enc);
    nvp_free(rgb);
    if (status == NVP_OK) {
        const void *chunks[1] = {data.bytes};
        int64_t sizes[1] = {(int64_t)data.size};
        status = nvp_file_write_atomic(path, chunks, sizes, 1);
    }
    WebPDataClear(&data);
    return status;
}
