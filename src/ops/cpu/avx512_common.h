#pragma once
// Helpers shared by the AVX-512 kernel files. Include only from *_avx512.cpp (compiled with
// -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx2 -mfma -mf16c); everything
// here has internal linkage (see dispatch.h for why).
// GCC 12's AVX-512 intrinsics pass an deliberately undefined vector (`__Y = __Y`) to the
// masked builtins and then warn about it once inlined (GCC bug 105593, fixed in 12.3/13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ops/cpu/kernels.h"

namespace hearth::ops::cpu {
namespace {

inline float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }

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

inline __m512i loadu512(const void* p) { return _mm512_loadu_si512(p); }
inline __m256i loadu256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i loadu128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// [a ×8 | b ×8]
inline __m512 pair_scale(float a, float b) { return _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1); }

// The same 32 bytes in both halves.
inline __m512i twice256(const void* p) { return _mm512_broadcast_i64x4(loadu256(p)); }

// [lo (256 bits) | hi (256 bits)]
inline __m512i join256(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

inline __m512i set8(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }

// Bytes [lo ×32 | hi ×32].
inline __m512i set8_halves(int lo, int hi) {
    return join256(_mm256_set1_epi8(static_cast<char>(lo)), _mm256_set1_epi8(static_cast<char>(hi)));
}

// 16-bit lanes: [lo ×16 | hi ×16].
inline __m512i set16_halves(int lo, int hi) {
    return join256(_mm256_set1_epi16(static_cast<short>(lo)), _mm256_set1_epi16(static_cast<short>(hi)));
}

// MXFP4's E8M0 scales (one exponent byte per int32 lane) as the floats 2^(e − 128): biased
// exponent e − 1, or for e < 2 the subnormal 0x00200000 << e (as ggml_e8m0_to_fp32_half).
inline __m512 e8m0_half_to_float(__m512i e) {
    const __m512i normal = _mm512_slli_epi32(_mm512_sub_epi32(e, _mm512_set1_epi32(1)), 23);
    const __m512i tiny = _mm512_sllv_epi32(_mm512_set1_epi32(0x00200000), e);
    const __mmask16 small = _mm512_cmplt_epi32_mask(e, _mm512_set1_epi32(2));
    return _mm512_castsi512_ps(_mm512_mask_blend_epi32(small, normal, tiny));
}

}  // namespace
}  // namespace hearth::ops::cpu

#include "ops/cpu/tiling.h"
