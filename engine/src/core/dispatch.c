/*
 * dispatch.c -- start-up choices made once: the CPU path (AVX2, AVX2 + AVX-512 products, or the scalar
 * reference) and the
 * thread count shared by OpenMP loops and OpenBLAS.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* OpenBLAS's own setter and core name; declared here so no cblas header is needed in this file. */
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);

int nvp_use_avx2 = 0;
int nvp_use_avx512 = 0;
static int nvp_threads = 1;
static int initialized = 0;

int nvp_cpu_has_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int nvp_cpu_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

const char *nvp_blas_core(void) {
    const char *name = openblas_get_corename();
    return name != NULL ? name : "unknown";
}

static int env_flag(const char *name) {
    const char *v = getenv(name);
    return v != NULL && strcmp(v, "1") == 0;
}

void nvp_init(void) {
    if (initialized) return;
    initialized = 1;
    nvp_use_avx2 = nvp_cpu_has_avx2() && !env_flag("NVP_FORCE_SCALAR");
    nvp_use_avx512 = nvp_use_avx2 && nvp_cpu_has_avx512() && !env_flag("NVP_NO_AVX512");
    int n = 0;
    const char *t = getenv("NVP_THREADS");
    if (t != NULL && *t != '\0') n = atoi(t);
    if (n < 1) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    nvp_set_threads(n);
}

const char *nvp_cpu_path(void) { return nvp_use_avx512 ? "avx512" : nvp_use_avx2 ? "avx2" : "scalar"; }

nvp_status nvp_set_threads(int n) {
    if (n < 1 || n > 1024) return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_set_threads: n = %d is not in [1, 1024]", n);
    nvp_threads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    openblas_set_num_threads(n);
    return NVP_OK;
}

int nvp_get_threads(void) { return nvp_threads; }

const char *nvp_version(void) { return NVP_VERSION_STRING; }
