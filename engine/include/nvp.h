/*
 * nvp.h -- the whole public API of libnvp, the C engine under nvp.
 *
 * Conventions (see ../../README.md, "Adding a kernel"):
 *   - every function that can fail returns nvp_status; on failure it sets a thread-local message
 *     (nvp_last_error) that names the operands and their shapes. The engine never exits or prints.
 *   - argument order: outputs [OUT], then inputs, then sizes.
 *   - tensors are float32, contiguous NCHW; shapes are written above each function as
 *     `x: (N,C,H,W)`. Backward passes ACCUMULATE (+=) into gradient buffers.
 *   - every kernel `nvp_foo` dispatches to `nvp_foo_ref` (scalar, always built) or `nvp_foo_avx2`,
 *     chosen once by nvp_init(); NVP_FORCE_SCALAR=1 in the environment forces the reference.
 *
 * Only the text between NVP_FFI_BEGIN and NVP_FFI_END is read by LuaJIT's ffi.cdef (CMake turns
 * it into lua/nvp/nvp_h.lua), so it must stay plain declarations: no macros, no #include, no
 * inline code.
 */
#ifndef NVP_H
#define NVP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* NVP_FFI_BEGIN */

/* ---- status and errors ------------------------------------------------------------------ */

typedef enum nvp_status {
    NVP_OK = 0,
    NVP_STATUS_BAD_ARG = 1,     /* an argument out of range (null pointer, negative size, ...) */
    NVP_STATUS_BAD_SHAPE = 2,   /* operand shapes do not agree */
    NVP_STATUS_NO_MEMORY = 3,
    NVP_STATUS_IO = 4,          /* a file could not be opened, read or written */
    NVP_STATUS_BAD_FORMAT = 5,  /* a file's content is corrupt, truncated or absurd */
    NVP_STATUS_UNSUPPORTED = 6
} nvp_status;

/* The message of the last failure on this thread ("" if none). Valid until the next failure. */
const char *nvp_last_error(void);
/* Forget the last failure on this thread. */
void nvp_clear_error(void);

/* ---- library set-up -------------------------------------------------------------------- */

/* Choose the CPU path (AVX2 if the CPU has it and NVP_FORCE_SCALAR is not 1) and the thread count
 * (NVP_THREADS, else the number of online CPUs). Idempotent; every entry point works without it,
 * using the scalar path and one thread. */
void nvp_init(void);
/* "avx2" or "scalar": the path chosen by nvp_init. */
const char *nvp_cpu_path(void);
/* 1 when the CPU supports AVX2+FMA (independent of NVP_FORCE_SCALAR). */
int nvp_cpu_has_avx2(void);
/* Set the engine's thread count (OpenMP loops and OpenBLAS alike). n >= 1. */
nvp_status nvp_set_threads(int n);
int nvp_get_threads(void);
const char *nvp_version(void);

/* ---- memory ---------------------------------------------------------------------------- */

/* 64-byte aligned allocation; nbytes == 0 gives a valid unique pointer. NULL + error on failure. */
void *nvp_alloc(size_t nbytes);
void nvp_free(void *p);

/* A batch of 8-bit images as decoded from a file: data is (count, channels, height, width),
 * owned by the struct (free with nvp_images_free). */
typedef struct nvp_images {
    uint8_t *data;
    int64_t count;
    int32_t channels;
    int32_t height;
    int32_t width;
    int32_t reserved;
} nvp_images;

void nvp_images_free(nvp_images *images);

/* ABI check: C's own view of the struct layouts, compared with ffi.sizeof/offsetof in the specs. */
size_t nvp_abi_sizeof_images(void);
size_t nvp_abi_offsetof_images(int field);

/* ---- random numbers -------------------------------------------------------------------- */
/* Counter-based (Philox4x32-10): element i of a fill depends only on (seed, counter + i), never on
 * the thread count or the order the work is done in. A caller advances its counter by n. */

/* out: (n) uniform in [lo, hi) */
nvp_status nvp_rng_uniform(float *out, uint64_t seed, uint64_t counter, int64_t n, float lo, float hi);
/* out: (n) normal with the given mean and standard deviation (Box-Muller) */
nvp_status nvp_rng_normal(float *out, uint64_t seed, uint64_t counter, int64_t n, float mean, float std);

/* ---- element-wise and reductions --------------------------------------------------------- */

/* y: (n) = value */
nvp_status nvp_fill(float *y, float value, int64_t n);
/* y = a + b, all (n) */
nvp_status nvp_add(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_add_ref(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_add_avx2(float *y, const float *a, const float *b, int64_t n);
/* y = a * b, all (n) */
nvp_status nvp_mul(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_mul_ref(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_mul_avx2(float *y, const float *a, const float *b, int64_t n);
/* y += alpha * x, all (n) */
nvp_status nvp_axpy(float *y, float alpha, const float *x, int64_t n);
nvp_status nvp_axpy_ref(float *y, float alpha, const float *x, int64_t n);
nvp_status nvp_axpy_avx2(float *y, float alpha, const float *x, int64_t n);
/* y = alpha * x + beta, all (n); y may be x */
nvp_status nvp_scale(float *y, const float *x, float alpha, float beta, int64_t n);
nvp_status nvp_scale_ref(float *y, const float *x, float alpha, float beta, int64_t n);
nvp_status nvp_scale_avx2(float *y, const float *x, float alpha, float beta, int64_t n);
/* [OUT] sum, sum of squares of x: (n), accumulated in double */
nvp_status nvp_sum(double *sum, double *sumsq, const float *x, int64_t n);
nvp_status nvp_sum_ref(double *sum, double *sumsq, const float *x, int64_t n);
nvp_status nvp_sum_avx2(double *sum, double *sumsq, const float *x, int64_t n);
/* [OUT] dot = sum x*y in double */
nvp_status nvp_dot(double *dot, const float *x, const float *y, int64_t n);
/* [OUT] number of non-finite values in x: (n) */
nvp_status nvp_count_nonfinite(int64_t *count, const float *x, int64_t n);

/* ---- I/O: images and datasets ------------------------------------------------------------ */

/* Read an IDX image file (magic 0x00000803, uint8, gzip'd or plain) into [OUT] images
 * (channels = 1). Checks the header against the file size before allocating. */
nvp_status nvp_idx_read_images(nvp_images *images, const char *path);
/* Read an IDX label file (magic 0x00000801) into [OUT] labels (count), allocated with nvp_alloc. */
nvp_status nvp_idx_read_labels(uint8_t **labels, int64_t *count, const char *path);

/* Write an 8-bit PNG. pixels: (height, width, channels) interleaved, channels 1 (gray) or 3 (RGB). */
nvp_status nvp_png_write(const char *path, const uint8_t *pixels, int32_t width, int32_t height,
                         int32_t channels);

/* NVP_FFI_END */

#ifdef __cplusplus
}
#endif

#endif /* NVP_H */
