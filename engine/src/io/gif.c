/*
 * gif.c -- animated GIF89a output (the manifold animation of gray models; colour ones get WebP,
 * webp.c), with its own LZW encoder: no library.
 *
 * One global 256-entry palette for every frame:
 *   channels 1: the 256 grays, so gray images are stored exactly;
 *   channels 3: a fixed 6x7x6 RGB cube (252 colours, 7 levels of green because the eye is most
 *               sensitive to it; entries 252-255 are black), each channel rounded to its nearest
 *               level, no dithering (dithering flickers from frame to frame in an animation).
 * A NETSCAPE2.0 block makes the animation loop forever. LZW (GIF89a spec, appendix F): minimum
 * code size 8, clear = 256, end = 257, codes grow from 9 to 12 bits; when all 4096 codes are used
 * a clear code restarts the dictionary. The dictionary is a trie: next[prefix * 256 + pixel].
 * Why ours and not giflib (and how giflib checks it): docs/dependencies.md.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

#define GIF_CLEAR 256
#define GIF_END 257
#define GIF_MAX_CODES 4096

/* Bits packed LSB-first into data sub-blocks of at most 255 bytes. */
typedef struct {
    FILE *f;
    uint32_t acc;
    int nbits;
    uint8_t block[255];
    int used;
    int failed;
} gif_bits;

static void gif_flush_block(gif_bits *b) {
    if (b->used == 0) return;
    if (fputc(b->used, b->f) == EOF || fwrite(b->block, 1, (size_t)b->used, b->f) != (size_t)b->used)
        b->failed = 1;
    b->used = 0;
}

static void gif_put_code(gif_bits *b, int code, int size) {
    b->acc |= (uint32_t)code << b->nbits;
    b->nbits += size;
    while (b->nbits >= 8) {
        b->block[b->used++] = (uint8_t)(b->acc & 0xff);
        b->acc >>= 8;
        b->nbits -= 8;
        if (b->used == 255) gif_flush_block(b);
    }
}

static void gif_finish_bits(gif_bits *b) {
    if (b->nbits > 0) {
        b->block[b->used++] = (uint8_t)(b->acc & 0xff);
        b->acc = 0;
        b->nbits = 0;
        if (b->used == 255) gif_flush_block(b);
    }
    gif_flush_block(b);
    if (fputc(0, b->f) == EOF) b->failed = 1; /* block terminator */
}

// indices: (n) palette indices; next: (4096 * 256) dictionary, any contents
static void gif_lzw(gif_bits *b, const uint8_t *indices, int64_t n, uint16_t *next) {
    int size = 9, free_code = GIF_END + 1;
    memset(next, 0, sizeof(uint16_t) * GIF_MAX_CODES * 256);
    gif_put_code(b, GIF_CLEAR, size);
    int prefix = indices[0];
    for (int64_t i = 1; i < n; i++) {
        int k = indices[i];
        uint16_t code = next[prefix * 256 + k];
        if (code != 0) {
            prefix = code;
            continue;
        }
        gif_put_code(b, prefix, size);
        if (free_code < GIF_MAX_CODES) {
            next[prefix * 256 + k] = (uint16_t)free_code++;
            /* the decoder's table lags one code behind: it widens once free_code passes 2^size */
            if (free_code > (1 << size) && size < 12) size++;
        } else {
            gif_put_code(b, GIF_CLEAR, size);
            memset(next, 0, sizeof(uint16_t) * GIF_MAX_CODES * 256);
            size = 9;
            free_code = GIF_END + 1;
        }
        prefix = k;
    }
    gif_put_code(b, prefix, size);
    gif_put_code(b, GIF_END, size);
    gif_finish_bits(b);
}

static void gif_put16(uint8_t *p, int v) {
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)((v >> 8) & 0xff);
}

// frames: (nframes, height, width, channels) interleaved
nvp_status nvp_gif_write(const char *path, const uint8_t *frames, int32_t width, int32_t height, int32_t channels,
                         int32_t nframes, int32_t delay) {
    NVP_CHECK_PTR("nvp_gif_write", path);
    NVP_CHECK_PTR("nvp_gif_write", frames);
    if (width < 1 || height < 1 || width > 65535 || height > 65535)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: cannot write a %d x %d GIF (sides 1..65535)", path, width, height);
    if (channels != 1 && channels != 3)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: GIF needs 1 (gray) or 3 (RGB) channels, got %d", path, channels);
    if (nframes < 1) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: a GIF needs at least 1 frame, got %d", path, nframes);
    if (delay < 0 || delay > 65535)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: frame delay %d is outside 0..65535 centiseconds", path, delay);

    int64_t plane = (int64_t)width * height;
    uint8_t *indices = nvp_alloc((size_t)plane);
    uint16_t *next = nvp_alloc(sizeof(uint16_t) * GIF_MAX_CODES * 256);
    if (indices == NULL || next == NULL) {
        nvp_free(indices);
        nvp_free(next);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: no memory for a %d x %d GIF frame", path, width, height);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        nvp_free(indices);
        nvp_free(next);
        return nvp_fail(NVP_STATUS_IO, "%s: cannot write: %s", path, strerror(errno));
    }

    /* header, logical screen (global palette of 2^(7+1) entries, 8 bits per primary), palette */
    uint8_t head[13 + 768];
    memcpy(head, "GIF89a", 6);
    gif_put16(head + 6, width);
    gif_put16(head + 8, height);
    head[10] = 0xF7;
    head[11] = 0;
    head[12] = 0;
    uint8_t *pal = head + 13;
    memset(pal, 0, 768);
    for (int i = 0; i < 256; i++) {
        if (channels == 1) {
            pal[3 * i] = pal[3 * i + 1] = pal[3 * i + 2] = (uint8_t)i;
        } else if (i < 252) {
            pal[3 * i] = (uint8_t)((i / 42) * 255 / 5);
            pal[3 * i + 1] = (uint8_t)(((i / 6) % 7) * 255 / 6);
            pal[3 * i + 2] = (uint8_t)((i % 6) * 255 / 5);
        }
    }
    static const uint8_t loop[19] = {0x21, 0xFF, 0x0B, 'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E',
                                     '2', '.', '0', 0x03, 0x01, 0x00, 0x00, 0x00};
    gif_bits bits = {.f = f};
    if (fwrite(head, 1, sizeof head, f) != sizeof head || fwrite(loop, 1, sizeof loop, f) != sizeof loop)
        bits.failed = 1;

    for (int32_t k = 0; k < nframes && !bits.failed; k++) {
        const uint8_t *src = frames + (size_t)k * (size_t)plane * (size_t)channels;
        if (channels == 1) {
            memcpy(indices, src, (size_t)plane);
        } else {
            for (int64_t i = 0; i < plane; i++) {
                int r = (src[3 * i] * 5 + 127) / 255;
                int g = (src[3 * i + 1] * 6 + 127) / 255;
                int b = (src[3 * i + 2] * 5 + 127) / 255;
                indices[i] = (uint8_t)(r * 42 + g * 6 + b);
            }
        }
        /* graphic control (no disposal needed: every frame covers the screen), image descriptor */
        uint8_t frame_head[8 + 10 + 1] = {0x21, 0xF9, 0x04, 0x00, 0, 0, 0x00, 0x00, 0x2C};
        gif_put16(frame_head + 4, delay);
        gif_put16(frame_head + 8 + 1, 0);
        gif_put16(frame_head + 8 + 3, 0);
        gif_put16(frame_head + 8 + 5, width);
        gif_put16(frame_head + 8 + 7, height);
        frame_head[8 + 9] = 0x00;
        frame_head[8 + 10] = 8; /* LZW minimum code size */
        if (fwrite(frame_head, 1, sizeof frame_head, f) != sizeof frame_head) {
            bits.failed = 1;
            break;
        }
        gif_lzw(&bits, indices, plane, next);
    }
    if (!bits.failed && fputc(0x3B, f) == EOF) bits.failed = 1;
    nvp_free(indices);
    nvp_free(next);
    int close_failed = fclose(f) != 0;
    if (bits.failed || close_failed) {
        remove(path);
        return nvp_fail(NVP_STATUS_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    return NVP_OK;
}
