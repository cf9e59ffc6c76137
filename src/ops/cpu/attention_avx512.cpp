// Attention kernels (scores q·k and the weighted sum of values) over an F32 or F16 KV cache,
// AVX-512. One cache row is loaded and converted once for all query heads that share it.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx512_common.h"

namespace hearth::ops::cpu {
namespace {

struct F32Cache {
    static __m512 load(const void* row, int d, __mmask16 m) {
        return _mm512_maskz_loadu_ps(m, static_cast<const float*>(row) + d);
    }
    static const void* row(const void* base, int64_t index) { return static_cast<const float*>(base) + index; }
};

struct F16Cache {
    static __m512 load(const void* row, int d, __mmask16 m) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(row) + d));
    }
    static const void* row(const void* base, int64_t index) { return static_cast<const uint16_t*>(base) + index; }
};

inline __mmask16 lanes_left(int left) {
    return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

// Sums each of 16 vectors: lane i of the result is the sum of v[i]'s lanes. A transposing
// tree (halves, then quarters, then within 128-bit lanes) costs about 3 operations per sum
// instead of the ~9 of a separate reduction each.
inline __m512 sum16(const __m512 (&v)[16]) {
    __m512 t[8], u[4], s[2];
    for (int k = 0; k < 8; ++k)  // [v2k halves summed | v2k+1 halves summed]
        t[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0xEE));
    for (int m = 0; m < 4; ++m)  // 128-bit lane l holds 4 partial sums of v[4m + l]
        u[m] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * m], t[2 * m + 1], 0x88),
                             _mm512_shuffle_f32x4(t[2 * m], t[2 * m + 1], 0xDD));
    for (int n = 0; n < 2; ++n)  // lane l: 2 partials of v[8n + l], 2 of v[8n + 4 + l]
        s[n] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * n], u[2 * n + 1], 0x44),
                             _mm512_shuffle_ps(u[2 * n], u[2 * n + 1], 0xEE));
    // Lane l, element e: the sum of v[4e + l]; transpose to lane-major order.
    const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(s[0], s[1], 0x88), _mm512_shuffle_ps(s[0], s[1], 0xDD));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r);
}

// Scores of 4 heads for keys p..p+3 (one converted cache vector serves 4 heads).
template <class C>
inline void scores_4x4(const float* q, int dim, const void* k, int64_t stride, int64_t n_keys, int64_t p, float scale,
                       float* scores) {
    __m512 acc[16];  // acc[4h + key]
    for (auto& a : acc) a = _mm512_setzero_ps();
    for (int d = 0; d < dim; d += 16) {
        const __mmask16 m = lanes_left(dim - d);
        for (int key = 0; key < 4; ++key) {
            const __m512 kv = C::load(C::row(k, (p + key) * stride), d, m);
            for (int h = 0; h < 4; ++h)
                acc[4 * h + key] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + h * dim + d), kv, acc[4 * h + key]);
        }
    }
    const __m512 sums = _mm512_mul_ps(sum16(acc), _mm512_set1_ps(scale));
    _mm_storeu_ps(scores + 0 * n_keys + p, _mm512_extractf32x4_ps(sums, 0));
    _mm_storeu_ps(scores + 1 * n_keys + p, _mm512_extractf32x4_ps(sums, 1));
    _mm_storeu_ps(scores + 2 * n_keys + p, _mm512_extractf32x4_ps(sums, 2));
    _mm_storeu_ps(scores + 3 * n_keys + p, _mm512_extractf32x4_ps(sums, 3));
}

template <class C, int NH>
void scores_heads(const float* q, int dim, const void* k, int64_t stride, int64_t p0, int64_t n_keys, float scale,
                  float* scores) {
    for (int64_t p = p0; p < n_keys; ++p) {
        const void* row = C::row(k, p * stride);
        __m512 acc[NH];
        for (int h = 0; h < NH; ++h) acc[h] = _mm512_setzero_ps();
        for (int d = 0; d < dim; d += 16) {
            const __mmask16 m = lanes_left(dim - d);
            const __m512 kv = C::load(row, d, m);
            for (int h = 0; h < NH; ++h) acc[h] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + h * dim + d), kv, acc[h]);
        }
        for (int h = 0; h < NH; ++h) scores[h * n_keys + p] = _mm512_reduce_add_ps(acc[h]) * scale;
    }
}

template <class C>
void attn_scores(const float* q, int n_q, int dim, const void* k, int64_t stride, int64_t n_keys, float scale,
                 float* scores) {
    int h = 0;
    for (; h + 4 <= n_q; h += 4) {
        int64_t p = 0;
        for (; p + 4 <= n_keys; p += 4) scores_4x4<C>(q + h * dim, dim, k, stride, n_keys, p, scale, scores + h * n_keys);
        scores_heads<C, 4>(q + h * dim, dim, k, stride, p, n_keys, scale, scores + h * n_keys);
    }
    for (; h < n_q; ++h) scores_heads<C, 1>(q + h * dim, dim, k, stride, 0, n_keys, scale, scores + h * n_keys);
}

template <class C, int NH>
void values_heads(const float* w, int64_t n_keys, const void* v, int64_t stride, int dim, float* out) {
    for (int d = 0; d < dim; d += 16) {
        const __mmask16 m = lanes_left(dim - d);
        __m512 acc[NH];
        for (int h = 0; h < NH; ++h) acc[h] = _mm512_setzero_ps();
        for (int64_t p = 0; p < n_keys; ++p) {
            const __m512 vv = C::load(C::row(v, p * stride), d, m);
            for (int h = 0; h < NH; ++h) acc[h] = _mm512_fmadd_ps(_mm512_set1_ps(w[h * n_keys + p]), vv, acc[h]);
        }
        for (int h = 0; h < NH; ++h) _mm512_mask_storeu_ps(out + h * dim + d, m, acc[h]);
    }
}

template <class C>
void attn_values(const float* w, int n_q, int64_t n_keys, const void* v, int64_t stride, int dim, float* out) {
    int h = 0;
    for (; h + 8 <= n_q; h += 8) values_heads<C, 8>(w + h * n_keys, n_keys, v, stride, dim, out + h * dim);
    for (; h + 4 <= n_q; h += 4) values_heads<C, 4>(w + h * n_keys, n_keys, v, stride, dim, out + h * dim);
    for (; h < n_q; ++h) values_heads<C, 1>(w + h * n_keys, n_keys, v, stride, dim, out + h * dim);
}

}  // namespace

void add_attention_kernels_avx512(KernelTable& table) {
    table.attn_scores_f32 = attn_scores<F32Cache>;
    table.attn_scores_f16 = attn_scores<F16Cache>;
    table.attn_values_f32 = attn_values<F32Cache>;
    table.attn_values_f16 = attn_values<F16Cache>;
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
