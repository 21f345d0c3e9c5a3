/*
 * dispatch.c -- start-up choices: the CPU path (the scalar references, AVX2, or AVX2 plus the AVX-512
 * kernels) and the thread count shared by OpenMP loops and OpenBLAS. The environment is read here
 * and only here, once, by nvp_init; nvp_set_cpu_path switches the path later (specs, benchmarks) by
 * refilling every op's table (the select functions listed in internal.h).
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

static nvp_isa current_isa = NVP_ISA_SCALAR;
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

nvp_isa nvp_current_isa(void) { return current_isa; }

static const char *const isa_names[] = {"scalar", "avx2", "avx512"};

static void select_isa(nvp_isa isa) {
    current_isa = isa;
    nvp_elementwise_select(isa);
    nvp_adam_select(isa);
    nvp_coupling_select(isa);
    nvp_preprocess_select(isa);
    nvp_reshape_select(isa);
    nvp_weightnorm_select(isa);
    nvp_batchnorm_select(isa);
    nvp_gemm_select(isa);
    nvp_winograd_select(isa);
    nvp_actnorm_select(isa);
    nvp_glow_coupling_select(isa);
}

nvp_status nvp_set_cpu_path(const char *name) {
    if (name == NULL) return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_set_cpu_path: name is NULL");
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, isa_names[i]) != 0) continue;
        if (i >= NVP_ISA_AVX2 && !nvp_cpu_has_avx2())
            return nvp_fail(NVP_STATUS_UNSUPPORTED, "nvp_set_cpu_path: \"%s\" needs AVX2 and FMA, which this CPU lacks",
                            name);
        if (i == NVP_ISA_AVX512 && !nvp_cpu_has_avx512())
            return nvp_fail(NVP_STATUS_UNSUPPORTED,
                            "nvp_set_cpu_path: \"avx512\" needs AVX-512 F, CD, BW, DQ and VL, which this CPU lacks");
        select_isa((nvp_isa)i);
        return NVP_OK;
    }
    return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_set_cpu_path: unknown path \"%s\" (scalar, avx2 or avx512)", name);
}

int nvp_cpu_supports(const char *path) {
    if (path == NULL) return 0;
    if (strcmp(path, "scalar") == 0) return 1;
    if (strcmp(path, "avx2") == 0) return nvp_cpu_has_avx2();
    if (strcmp(path, "avx512") == 0) return nvp_cpu_has_avx2() && nvp_cpu_has_avx512();
    return 0;
}

void nvp_init(void) {
    if (initialized) return;
    initialized = 1;
    nvp_isa isa = NVP_ISA_SCALAR;
    if (nvp_cpu_has_avx2() && !env_flag("NVP_FORCE_SCALAR"))
        isa = nvp_cpu_has_avx512() && !env_flag("NVP_NO_AVX512") ? NVP_ISA_AVX512 : NVP_ISA_AVX2;
    select_isa(isa);
    int n = 0;
    const char *t = getenv("NVP_THREADS");
    if (t != NULL && *t != '\0') n = atoi(t);
    if (n < 1) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    nvp_set_threads(n);
}

const char *nvp_cpu_path(void) { return isa_names[current_isa]; }

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
