/*
 * resize.c -- the resampling steps of the datasets' preprocessing, on uint8 CHW images, each written
 * to reproduce the original Real NVP code (tensorflow/models research/real_nvp):
 *
 *   nvp_crop_u8             image[y0:y0+h, x0:x0+w] (CelebA's [40:188, 15:163]; LSUN's 64x64 crops),
 *                           with an optional horizontal mirror (tf.image.random_flip_left_right).
 *   nvp_resize_bilinear_u8  CelebA's 148x148 -> 64x64: real_nvp_multiscale_dataset.py calls
 *                           tf.image.resize_images(x, [64, 64], method=0), TensorFlow 1's bilinear with
 *                           align_corners=False: output pixel y reads source row y * h / out_h (no
 *                           half-pixel offset), the row below clamped to the last one, lerped in float.
 *                           TF fed the float result to the model; the cache holds uint8, so it is
 *                           rounded to the nearest integer (at most 0.5 off, below the dequantization
 *                           noise's width of 1).
 *   nvp_pyramid_reduce_u8   LSUN's "smallest side to 96": lsun_formatting.py calls
 *                           skimage.transform.pyramid_reduce(image, downscale = min(h/96, w/96)) on the
 *                           uint8 image, i.e. img_as_float (x / 255), scipy.ndimage.gaussian_filter per
 *                           channel (sigma = 2 downscale / 6, truncate 4: radius int(4 sigma + 0.5),
 *                           mode 'reflect' = symmetric edges, rows then columns), resize to
 *                           (ceil(h / downscale), ceil(w / downscale)) with order-1 (bilinear)
 *                           interpolation at pixel centres (source = (dst + 0.5) * in/out - 0.5), then
 *                           `* 255.` and `.astype("uint8")`, which truncates.
 * Scalar only: these run once per image when a cache is built, never per training step.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

nvp_status nvp_crop_u8(uint8_t *dst, const uint8_t *src, int32_t c, int32_t h, int32_t w, int32_t y0, int32_t x0,
                       int32_t out_h, int32_t out_w, int32_t flip) {
    NVP_CHECK_PTR("nvp_crop_u8", dst);
    NVP_CHECK_PTR("nvp_crop_u8", src);
    if (c < 1 || out_h < 1 || out_w < 1 || y0 < 0 || x0 < 0 || y0 + out_h > h || x0 + out_w > w)
        return nvp_fail(NVP_STATUS_BAD_SHAPE,
                        "crop: rows %d..%d, cols %d..%d are outside a %d x %d image (%d channels)", (int)y0,
                        (int)(y0 + out_h - 1), (int)x0, (int)(x0 + out_w - 1), (int)h, (int)w, (int)c);
    for (int32_t k = 0; k < c; k++)
        for (int32_t y = 0; y < out_h; y++) {
            const uint8_t *s = src + ((size_t)k * (size_t)h + (size_t)(y0 + y)) * (size_t)w + (size_t)x0;
            uint8_t *d = dst + ((size_t)k * (size_t)out_h + (size_t)y) * (size_t)out_w;
            if (flip)
                for (int32_t x = 0; x < out_w; x++) d[x] = s[out_w - 1 - x];
            else
                memcpy(d, s, (size_t)out_w);
        }
    return NVP_OK;
}

nvp_status nvp_resize_bilinear_u8(uint8_t *dst, const uint8_t *src, int32_t c, int32_t h, int32_t w, int32_t out_h,
                                  int32_t out_w) {
    NVP_CHECK_PTR("nvp_resize_bilinear_u8", dst);
    NVP_CHECK_PTR("nvp_resize_bilinear_u8", src);
    if (c < 1 || h < 1 || w < 1 || out_h < 1 || out_w < 1)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "resize: %d x %d x %d -> %d x %d", (int)c, (int)h, (int)w, (int)out_h,
                        (int)out_w);
    /* TF1 computes the scale and the source coordinate in float. */
    float sy = (float)h / (float)out_h, sx = (float)w / (float)out_w;
    for (int32_t k = 0; k < c; k++) {
        const uint8_t *plane = src + (size_t)k * (size_t)h * (size_t)w;
        for (int32_t y = 0; y < out_h; y++) {
            float in_y = (float)y * sy;
            int32_t top = (int32_t)floorf(in_y);
            int32_t bottom = top + 1 < h ? top + 1 : h - 1;
            float dy = in_y - (float)top;
            for (int32_t x = 0; x < out_w; x++) {
                float in_x = (float)x * sx;
                int32_t left = (int32_t)floorf(in_x);
                int32_t right = left + 1 < w ? left + 1 : w - 1;
                float dx = in_x - (float)left;
                float tl = plane[(size_t)top * (size_t)w + (size_t)left];
                float tr = plane[(size_t)top * (size_t)w + (size_t)right];
                float bl = plane[(size_t)bottom * (size_t)w + (size_t)left];
                float br = plane[(size_t)bottom * (size_t)w + (size_t)right];
                float t = tl + (tr - tl) * dx;
                float b = bl + (br - bl) * dx;
                float v = t + (b - t) * dy;
                int iv = (int)floorf(v + 0.5f);
                dst[((size_t)k * (size_t)out_h + (size_t)y) * (size_t)out_w + (size_t)x] =
                    (uint8_t)(iv < 0 ? 0 : iv > 255 ? 255 : iv);
            }
        }
    }
    return NVP_OK;
}

/* downscale = min(h / side, w / side) in double, as lsun_formatting.py computes it. */
static double pyramid_downscale(int32_t h, int32_t w, int32_t side) {
    double a = (double)h / (double)side, b = (double)w / (double)side;
    return a < b ? a : b;
}

nvp_status nvp_pyramid_reduce_size(int32_t *out_h, int32_t *out_w, int32_t h, int32_t w, int32_t side) {
    NVP_CHECK_PTR("nvp_pyramid_reduce_size", out_h);
    NVP_CHECK_PTR("nvp_pyramid_reduce_size", out_w);
    if (h < 1 || w < 1 || side < 1)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "pyramid_reduce: a %d x %d image to smallest side %d", (int)h, (int)w,
                        (int)side);
    double d = pyramid_downscale(h, w, side);
    double oh = ceil((double)h / d), ow = ceil((double)w / d);
    if (oh > 65535 || ow > 65535)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "pyramid_reduce: a %d x %d image to smallest side %d is too large",
                        (int)h, (int)w, (int)side);
    *out_h = (int32_t)oh;
    *out_w = (int32_t)ow;
    return NVP_OK;
}

/* scipy.ndimage 'reflect' (d c b a | a b c d | d c b a) for any i, also far outside [0, n). */
static int32_t reflect_index(int64_t i, int32_t n) {
    if (n == 1) return 0;
    int64_t period = 2 * (int64_t)n;
    i %= period;
    if (i < 0) i += period;
    return (int32_t)(i < n ? i : period - 1 - i);
}

/* out: (n) = in: (n, stride) correlated with the normalised Gaussian weights: (2r+1), symmetric edges. */
static void gaussian_1d(double *out, const double *in, int32_t n, int64_t stride, const double *weight, int32_t r) {
    for (int32_t i = 0; i < n; i++) {
        double acc = 0;
        for (int32_t j = -r; j <= r; j++) acc += weight[j + r] * in[(int64_t)reflect_index((int64_t)i + j, n) * stride];
        out[i] = acc;
    }
}

nvp_status nvp_pyramid_reduce_u8(uint8_t *dst, const uint8_t *src, int32_t c, int32_t h, int32_t w, int32_t side) {
    NVP_CHECK_PTR("nvp_pyramid_reduce_u8", dst);
    NVP_CHECK_PTR("nvp_pyramid_reduce_u8", src);
    int32_t out_h, out_w;
    nvp_status st = nvp_pyramid_reduce_size(&out_h, &out_w, h, w, side);
    if (st != NVP_OK) return st;
    if (c < 1) return nvp_fail(NVP_STATUS_BAD_SHAPE, "pyramid_reduce: %d channels", (int)c);
    double downscale = pyramid_downscale(h, w, side);
    double sigma = 2.0 * downscale / 6.0;
    int32_t r = (int32_t)(4.0 * sigma + 0.5);
    size_t plane = (size_t)h * (size_t)w;
    double *weight = malloc(sizeof(double) * (size_t)(2 * r + 1));
    double *a = malloc(sizeof(double) * plane);
    double *b = malloc(sizeof(double) * plane);
    double *line = malloc(sizeof(double) * (size_t)(h > w ? h : w));
    if (weight == NULL || a == NULL || b == NULL || line == NULL) {
        free(weight), free(a), free(b), free(line);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "pyramid_reduce: out of memory for a %d x %d image", (int)h, (int)w);
    }
    double total = 0;
    for (int32_t j = -r; j <= r; j++) total += weight[j + r] = exp(-0.5 / (sigma * sigma) * (double)j * (double)j);
    for (int32_t j = 0; j <= 2 * r; j++) weight[j] /= total;
    /* skimage's resize: source coordinate = scale * (dst + 0.5) - 0.5, scale = in / out */
    double row_scale = (double)h / (double)out_h, col_scale = (double)w / (double)out_w;
    for (int32_t k = 0; k < c; k++) {
        const uint8_t *s = src + (size_t)k * plane;
        for (size_t p = 0; p < plane; p++) a[p] = (double)s[p] / 255.0;
        /* axis 0 (rows) then axis 1 (columns), as scipy's gaussian_filter */
        for (int32_t x = 0; x < w; x++) {
            gaussian_1d(line, a + x, h, w, weight, r);
            for (int32_t y = 0; y < h; y++) b[(size_t)y * (size_t)w + (size_t)x] = line[y];
        }
        for (int32_t y = 0; y < h; y++) gaussian_1d(a + (size_t)y * (size_t)w, b + (size_t)y * (size_t)w, w, 1, weight, r);
        uint8_t *d = dst + (size_t)k * (size_t)out_h * (size_t)out_w;
        for (int32_t y = 0; y < out_h; y++) {
            double ry = row_scale * ((double)y + 0.5) - 0.5;
            double fy = floor(ry), dr = ry - fy;
            int32_t r0 = reflect_index((int64_t)fy, h), r1 = reflect_index((int64_t)ceil(ry), h);
            for (int32_t x = 0; x < out_w; x++) {
                double cx = col_scale * ((double)x + 0.5) - 0.5;
                double fx = floor(cx), dc = cx - fx;
                int32_t c0 = reflect_index((int64_t)fx, w), c1 = reflect_index((int64_t)ceil(cx), w);
                /* skimage's bilinear_interpolation: columns first, then rows */
                double top = (1 - dc) * a[(size_t)r0 * (size_t)w + (size_t)c0] + dc * a[(size_t)r0 * (size_t)w + (size_t)c1];
                double bottom = (1 - dc) * a[(size_t)r1 * (size_t)w + (size_t)c0] + dc * a[(size_t)r1 * (size_t)w + (size_t)c1];
                double v = ((1 - dr) * top + dr * bottom) * 255.0;
                d[(size_t)y * (size_t)out_w + (size_t)x] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : v);
            }
        }
    }
    free(weight), free(a), free(b), free(line);
    return NVP_OK;
}
