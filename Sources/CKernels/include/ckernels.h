// Small C kernels that Swift compiled for baseline x86-64 cannot vectorise well (see docs/ENGINE.md, "Release
// builds"): fp32 → bf16 conversion with round-to-nearest-even.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// dst[i] = bf16(src[i]) for i in [0, n), rounding to nearest even; NaN stays NaN (quiet); subnormal inputs
/// become signed zero (as the AVX512-BF16 instruction does).
void st_f32_to_bf16(const float *src, uint16_t *dst, size_t n);

/// The same with the portable loop only (what CPUs without AVX512-BF16 run; exposed for tests).
void st_f32_to_bf16_portable(const float *src, uint16_t *dst, size_t n);
