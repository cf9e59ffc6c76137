// Activation quantizers (tensor/quantize_activations.h) with AVX2: the same bytes as the
// portable ones (max |x| is exact, x · (127 / max) is the same float multiply, and cvtps
// rounds half to even like nearbyint), only faster.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx2_common.h"

namespace hearth::ops::cpu {
namespace {

inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// Quantizes 8 · n_vec floats with one scale; returns the scale, the codes as int32 in
// `codes32` and as int8 in `q`.
inline float quantize_run(const float* x, int n_vec, int8_t* q, __m256i* codes32) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 amax = _mm256_setzero_ps();
    for (int v = 0; v < n_vec; ++v) amax = _mm256_max_ps(amax, _mm256_and_ps(_mm256_loadu_ps(x + 8 * v), abs_mask));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float m = _mm_cvtss_f32(m4);
    const float d = m / 127.0f;
    const __m256 id = _mm256_set1_ps(m != 0.0f ? 127.0f / m : 0.0f);
    for (int v = 0; v < n_vec; ++v) codes32[v] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * v), id));
    // Pack 32 codes at a time: packs works within 128-bit lanes, the permute restores order.
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int v = 0; v + 4 <= n_vec; v += 4) {
        const __m256i w01 = _mm256_packs_epi32(codes32[v], codes32[v + 1]);
        const __m256i w23 = _mm256_packs_epi32(codes32[v + 2], codes32[v + 3]);
        const __m256i b = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w01, w23), order);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 8 * v), b);
    }
    return d;
}

void quantize_q8_32(const float* x, uint8_t* dst, int64_t n, size_t scale_offset, size_t sum_offset) {
    auto* q = reinterpret_cast<int8_t*>(dst);
    auto* d = reinterpret_cast<float*>(dst + scale_offset);
    auto* s = reinterpret_cast<float*>(dst + sum_offset);
    std::memset(dst + n, 0, scale_offset - static_cast<size_t>(n));
    for (int64_t b = 0; b < n / 32; ++b) {
        __m256i codes[4];
        d[b] = quantize_run(x + 32 * b, 4, q + 32 * b, codes);
        const __m256i sum = _mm256_add_epi32(_mm256_add_epi32(codes[0], codes[1]), _mm256_add_epi32(codes[2], codes[3]));
        s[b] = d[b] * static_cast<float>(hsum_epi32(sum));
    }
}

void quantize_q8_256(const float* x, uint8_t* dst, int64_t n, size_t scale_offset, size_t sum_offset) {
    auto* q = reinterpret_cast<int8_t*>(dst);
    auto* d = reinterpret_cast<float*>(dst + scale_offset);
    auto* s = reinterpret_cast<float*>(dst + sum_offset);
    for (int64_t b = 0; b < n / 256; ++b) {
        __m256i codes[32];
        d[b] = quantize_run(x + 256 * b, 32, q + 256 * b, codes);
        for (int g = 0; g < 16; ++g)
            s[16 * b + g] = d[b] * static_cast<float>(hsum_epi32(_mm256_add_epi32(codes[2 * g], codes[2 * g + 1])));
    }
}

}  // namespace

void add_quantizers_avx2(KernelTable& table) {
    table.quantize_q8_32 = quantize_q8_32;
    table.quantize_q8_256 = quantize_q8_256;
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
