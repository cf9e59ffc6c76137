#pragma once
// Helpers shared by the AVX2 kernel files. Include only from *_avx2.cpp (compiled with
// -mavx2 -mfma -mf16c); everything here has internal linkage (see dispatch.h for why).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ops/cpu/kernels.h"

namespace hearth::ops::cpu {
namespace {

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float load_half(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h);
}

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline __m256i loadu256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i loadu128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

}  // namespace
}  // namespace hearth::ops::cpu

#include "ops/cpu/tiling.h"
