// Activation quantizers (tensor/quantize_activations.h) with AVX-512: the same bytes as the
// portable ones (max |x| is exact, x · (127 / max) is the same float multiply, and cvtps
// rounds half to even like nearbyint), only faster.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx512_common.h"

namespace hearth::ops::cpu {
namespace {

// Quantizes 32 · n_vec floats with one scale; returns the scale and stores the codes as
// int32 in `codes32` (for sums) and as int8 in `q`.
inline float quantize_run(const float* x, int n_vec16, int8_t* q, __m512i* codes32) {
    __m512 amax = _mm512_setzero_ps();
    for (int v = 0; v < n_vec16; ++v) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(x + 16 * v)));
    const float m = _mm512_reduce_max_ps(amax);
    const float d = m / 127.0f;
    const __m512 id = _mm512_set1_ps(m != 0.0f ? 127.0f / m : 0.0f);
    for (int v = 0; v < n_vec16; ++v) {
        codes32[v] = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * v), id));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16 * v), _mm512_cvtepi32_epi8(codes32[v]));
    }
    return d;
}

void quantize_q8_32(const float* x, uint8_t* dst, int64_t n, size_t scale_offset, size_t sum_offset) {
    auto* q = reinterpret_cast<int8_t*>(dst);
    auto* d = reinterpret_cast<float*>(dst + scale_offset);
    auto* s = reinterpret_cast<float*>(dst + sum_offset);
    std::memset(dst + n, 0, scale_offset - static_cast<size_t>(n));
    for (int64_t b = 0; b < n / 32; ++b) {
        __m512i codes[2];
        d[b] = quantize_run(x + 32 * b, 2, q + 32 * b, codes);
        s[b] = d[b] * static_cast<float>(_mm512_reduce_add_epi32(_mm512_add_epi32(codes[0], codes[1])));
    }
}

void quantize_q8_256(const float* x, uint8_t* dst, int64_t n, size_t scale_offset, size_t sum_offset) {
    auto* q = reinterpret_cast<int8_t*>(dst);
    auto* d = reinterpret_cast<float*>(dst + scale_offset);
    auto* s = reinterpret_cast<float*>(dst + sum_offset);
    for (int64_t b = 0; b < n / 256; ++b) {
        __m512i codes[16];
        d[b] = quantize_run(x + 256 * b, 16, q + 256 * b, codes);
        for (int g = 0; g < 16; ++g) s[16 * b + g] = d[b] * static_cast<float>(_mm512_reduce_add_epi32(codes[g]));
    }
}

}  // namespace

void add_quantizers_avx512(KernelTable& table) {
    table.quantize_q8_32 = quantize_q8_32;
    table.quantize_q8_256 = quantize_q8_256;
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
