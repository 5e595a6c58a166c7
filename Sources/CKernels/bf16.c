// fp32 → bf16 conversion: AVX512-BF16's VCVTNEPS2BF16 where the CPU has it (chosen once at run time through a
// target attribute, so no build flag is needed), otherwise a loop the compiler vectorises for the baseline ISA.
// Both round to nearest even and flush subnormal inputs to signed zero, so results do not depend on the CPU.
#include "ckernels.h"
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define ST_HAVE_AVX512BF16_PATH 1

__attribute__((target("avx512f,avx512bf16,avx512vl")))
static void convert_avx512bf16(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(src + i);
        __m256bh h = _mm512_cvtneps_pbh(v);
        _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)h);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        __m512 v = _mm512_maskz_loadu_ps(m, src + i);
        __m256bh h = _mm512_cvtneps_pbh(v);
        _mm256_mask_storeu_epi16(dst + i, m, (__m256i)h);
    }
}
#endif

void st_f32_to_bf16_portable(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, src + i, 4);
        if ((v & 0x7F800000u) == 0) v &= 0x80000000u;  /* subnormal → signed zero, as VCVTNEPS2BF16 does */
        uint32_t rounded = (v + 0x7FFFu + ((v >> 16) & 1u)) >> 16;
        uint32_t quiet = (v >> 16) | 0x40u;
        dst[i] = (uint16_t)(((v & 0x7FFFFFFFu) > 0x7F800000u) ? quiet : rounded);
    }
}

void st_f32_to_bf16(const float *src, uint16_t *dst, size_t n) {
#ifdef ST_HAVE_AVX512BF16_PATH
    static int has = -1;
    if (has < 0) has = __builtin_cpu_supports("avx512bf16") ? 1 : 0;
    if (has) { convert_avx512bf16(src, dst, n); return; }
#endif
    st_f32_to_bf16_portable(src, dst, n);
}
