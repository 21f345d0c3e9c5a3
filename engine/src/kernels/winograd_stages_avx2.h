/* winograd_stages_avx2.h -- winograd_stages.h on ymm (stage_in256, stage_out256), for the AVX2 tile
 * transforms (winograd_avx2.c, winograd_narrow_avx2.c; compiled with -mavx2 -mfma). */
#ifndef NVP_WINOGRAD_STAGES_AVX2_H
#define NVP_WINOGRAD_STAGES_AVX2_H

#include <immintrin.h>

#define WS_VEC __m256
#define WS_ZERO _mm256_setzero_ps()
#define WS_ADD(a, b) _mm256_add_ps(a, b)
#define WS_SUB(a, b) _mm256_sub_ps(a, b)
#define WS_FMA(c, a, b) _mm256_fmadd_ps(_mm256_set1_ps(c), a, b)
#define WS_NAME(name) name##256
#include "winograd_stages.h"

#endif
