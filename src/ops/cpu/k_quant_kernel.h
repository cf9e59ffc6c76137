#pragma once
// The K-quant tile kernel (Q2_K … Q6_K and IQ4_XS weights × Q8_256 activations) for any
// vector width.
// The arithmetic is explained in k_quant_avx2.cpp. A super-block of each of the R weight rows
// is decoded once (codes and per-chunk scale vectors) and then dotted with every token of the
// tile: integer dots per chunk, one float FMA with d_a · d_x, and the d_b · coef · s term.
//
// Instantiated by k_quant_avx2.cpp and k_quant_avx512.cpp, which supply (compiled with their
// instruction set's flags, see dispatch.h):
//   V: the width. `using Vec` (float), `IVec` (int32 sums), `Decoded` (what K::decode fills:
//      q[kChunks], scale[kChunks], coef, da, db), `Coef` (d_b · coef as floats);
//      `kChunks` chunks of `kChunkBytes` activation bytes per super-block; `zero()`, `izero()`,
//      `load_x(const int8_t*)`, `dot(isum, q, x, scale)` (isum + Σ pairs of maddubs(q, x) ·
//      scale), `coef(const Decoded&)`, `sub_coef(acc, coef, sums)` (acc − coef · the 16
//      activation sums of the super-block at `sums`), `set1`, `broadcast(const float*)`,
//      `mul`, `fmadd`, `to_float(IVec)`, `iadd`, `hsum`.
//      `signed_x(x, decoded, chunk)` (x with the signs of a signed type's values).
//   K: the weight type, `kBytes` per super-block, `decode(block, Decoded&)`, `kSigned` (values
//      carry signs: codes are magnitudes) and `kHasCoef` (there is a d_b · coef offset term).
// Included by the SIMD files only, after their *_common.h (internal linkage, see dispatch.h).
#include <cstddef>
#include <cstdint>

#include "ops/cpu/tiling.h"

namespace hearth::ops::cpu {
namespace {

template <class V, class K>
struct KQuantKernel {
    using Vec = typename V::Vec;
    using IVec = typename V::IVec;

    template <int R, int T>
    static void tile(const GemmArgs& a, int64_t r, int64_t t) {
        const int64_t nsb = a.cols / 256;
        const uint8_t* w[R];
        TokenRow x_rows[T];
        token_rows(a, t, T, x_rows);
        for (int i = 0; i < R; ++i) w[i] = a.w + static_cast<size_t>(r + i) * a.w_stride;
        Vec acc[R][T];
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) acc[i][j] = V::zero();
        const size_t ahead = R * a.w_stride;
        for (int64_t sb = 0; sb < nsb; ++sb) {
            typename V::Decoded dec[R];
            Vec da[R];
            typename V::Coef coef[R];
            for (int i = 0; i < R; ++i) {
                const uint8_t* blk = w[i] + sb * K::kBytes;
                // Prefetch the same place in the next row tile (see legacy_quant_avx512.cpp).
                for (size_t line = 0; line < K::kBytes; line += 64)
                    _mm_prefetch(reinterpret_cast<const char*>(blk) + ahead + line, _MM_HINT_T0);
                K::decode(blk, dec[i]);
                da[i] = V::set1(dec[i].da);
                // d_b · coef of each group of 16, dotted with the activation sums d_x · Σ q_x.
                if constexpr (K::kHasCoef) coef[i] = V::coef(dec[i]);
            }
            for (int j = 0; j < T; ++j) {
                const int8_t* x = x_rows[j].q + 256 * sb;
                // Two accumulators per row halve the chain of dependent additions.
                IVec isum[R], isum2[R];
                for (int i = 0; i < R; ++i) isum[i] = isum2[i] = V::izero();
                for (int c = 0; c < V::kChunks; c += 2) {
                    const IVec xv = V::load_x(x + V::kChunkBytes * c), xv2 = V::load_x(x + V::kChunkBytes * (c + 1));
                    for (int i = 0; i < R; ++i) {
                        IVec x0 = xv, x1 = xv2;
                        if constexpr (K::kSigned) {
                            x0 = V::signed_x(xv, dec[i], c);
                            x1 = V::signed_x(xv2, dec[i], c + 1);
                        }
                        isum[i] = V::dot(isum[i], dec[i].q[c], x0, dec[i].scale[c]);
                        isum2[i] = V::dot(isum2[i], dec[i].q[c + 1], x1, dec[i].scale[c + 1]);
                    }
                }
                const Vec dx = V::broadcast(x_rows[j].d + sb);
                const float* sums = x_rows[j].s + 16 * sb;
                for (int i = 0; i < R; ++i) {
                    const Vec dot = V::to_float(V::iadd(isum[i], isum2[i]));
                    acc[i][j] = V::fmadd(dot, V::mul(da[i], dx), acc[i][j]);
                    if constexpr (K::kHasCoef) acc[i][j] = V::sub_coef(acc[i][j], coef[i], sums);
                }
            }
        }
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) a.y[(t + j) * a.y_stride + r + i] = V::hsum(acc[i][j]);
    }
};

}  // namespace
}  // namespace hearth::ops::cpu
