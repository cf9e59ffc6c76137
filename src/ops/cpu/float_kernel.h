#pragma once
// The float-weight tile kernel (F32, F16, BF16 weights × float activations) for any vector
// width. Each weight vector is converted to float once per tile and multiplied into R × T
// accumulators; the activations stay float32, so the only difference from the scalar reference
// is the order of the additions.
//
// Instantiated by float_avx2.cpp and float_avx512.cpp, which supply (compiled with their
// instruction set's flags, see dispatch.h):
//   V: struct with `using Vec`, `kLanes`, `zero()`, `load(const float*)`, `fmadd(a, b, c)`,
//      `hsum(Vec)` and `kMaskedTail`; with kMaskedTail also `using Mask`, `tail_mask(n)` and
//      `load_part(const float*, Mask)` (the last partial vector of a row in vector registers),
//      without it the tail is summed in scalar after the horizontal sum.
//   W: the weight format, `kElemBytes`, `load(row, k)` (kLanes values from element k) and
//      `load_part(row, k, mask)` or `load1(row, k)` to match V's tail.
// Included by the SIMD files only, after their *_common.h (internal linkage, see dispatch.h).
#include <cstddef>
#include <cstdint>

#include "ops/cpu/tiling.h"

namespace hearth::ops::cpu {
namespace {

template <class V, class W>
struct FloatKernel {
    using Vec = typename V::Vec;

    template <int R, int T>
    static void tile(const GemmArgs& a, int64_t r, int64_t t) {
        const uint8_t* w[R];
        const float* x[T];
        for (int i = 0; i < R; ++i) w[i] = a.w + static_cast<size_t>(r + i) * a.w_stride;
        for (int j = 0; j < T; ++j) x[j] = reinterpret_cast<const float*>(a.x + static_cast<size_t>(t + j) * a.x_stride);
        Vec acc[R][T];
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) acc[i][j] = V::zero();
        int64_t k = 0;
        const size_t ahead = R * a.w_stride;  // prefetch the same place in the next row tile
        for (; k + V::kLanes <= a.cols; k += V::kLanes) {
            Vec wv[R];
            for (int i = 0; i < R; ++i) {
                _mm_prefetch(reinterpret_cast<const char*>(w[i] + k * W::kElemBytes + ahead), _MM_HINT_T0);
                wv[i] = W::load(w[i], k);
            }
            for (int j = 0; j < T; ++j) {
                const Vec xv = V::load(x[j] + k);
                for (int i = 0; i < R; ++i) acc[i][j] = V::fmadd(wv[i], xv, acc[i][j]);
            }
        }
        if constexpr (V::kMaskedTail) {
            if (k < a.cols) {
                const typename V::Mask m = V::tail_mask(a.cols - k);
                Vec wv[R];
                for (int i = 0; i < R; ++i) wv[i] = W::load_part(w[i], k, m);
                for (int j = 0; j < T; ++j) {
                    const Vec xv = V::load_part(x[j] + k, m);
                    for (int i = 0; i < R; ++i) acc[i][j] = V::fmadd(wv[i], xv, acc[i][j]);
                }
            }
            for (int i = 0; i < R; ++i)
                for (int j = 0; j < T; ++j) a.y[(t + j) * a.y_stride + r + i] = V::hsum(acc[i][j]);
        } else {
            for (int i = 0; i < R; ++i) {
                for (int j = 0; j < T; ++j) {
                    float s = V::hsum(acc[i][j]);
                    for (int64_t kk = k; kk < a.cols; ++kk) s += W::load1(w[i], kk) * x[j][kk];
                    a.y[(t + j) * a.y_stride + r + i] = s;
                }
            }
        }
    }
};

}  // namespace
}  // namespace hearth::ops::cpu
