/*
 * dispatch.c -- start-up choices made once: the CPU path (AVX2 or the scalar reference) and the
 * thread count shared by OpenMP loops and OpenBLAS.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* OpenBLAS's own setter; declared here so no cblas header is needed in this file. */
void openblas_set_num_threads(int num_threads);

int nvp_use_avx2 = 0;
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

static int env_flag(const char *name) {
    const char *v = getenv(name);
    return v != NULL && strcmp(v, "1") == 0;
}

void nvp_init(void) {
    if (initialized) return;
    initialized = 1;
    nvp_use_avx2 = nvp_cpu_has_avx2() && !env_flag("NVP_FORCE_SCALAR");
    int n = 0;
    const char *t = getenv("NVP_THREADS");
    if (t != NULL && *t != '\0') n = atoi(t);
    if (n < 1) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    nvp_set_threads(n);
}

const char *nvp_cpu_path(void) { return nvp_use_avx2 ? "avx2" : "scalar"; }

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
