#pragma once
// How a kernel walks the output: rows [r0, r1) × all tokens in register tiles of R rows ×
// T tokens. Tokens go in blocks of kTokenBlock so that the block's activations stay in L2
// while every row tile of this thread passes over them; inside a block each weight row
// tile is loaded once per T tokens.
//
// A kernel K provides `template <int R, int T> static void tile(const GemmArgs&, int64_t r,
// int64_t t)` computing y for rows r..r+R-1 and tokens t..t+T-1 over the whole row.
//
// Included by the SIMD files only (internal linkage, see dispatch.h).
#include <cstdint>

#include "ops/cpu/kernels.h"

namespace hearth::ops::cpu {
namespace {

constexpr int64_t kTokenBlock = 64;

// Calls K::tile<R, N> for the N = rem tokens left over (rem < TMax), by recursion on N.
template <class K, int R, int N>
inline void tile_tail(const GemmArgs& a, int64_t r, int64_t t, int64_t rem) {
    if constexpr (N > 0) {
        if (rem == N) K::template tile<R, N>(a, r, t);
        else tile_tail<K, R, N - 1>(a, r, t, rem);
    }
}

template <class K, int R, int T>
inline void tile_tokens(const GemmArgs& a, int64_t r, int64_t t0, int64_t t1) {
    int64_t t = t0;
    for (; t + T <= t1; t += T) K::template tile<R, T>(a, r, t);
    if (t < t1) tile_tail<K, R, T - 1>(a, r, t, t1 - t);
}

// R rows × T tokens tiles; leftover rows one at a time.
template <class K, int R, int T>
void gemm_tiled(const GemmArgs& a, int64_t r0, int64_t r1) {
    for (int64_t tb = 0; tb < a.n_tokens; tb += kTokenBlock) {
        const int64_t te = tb + kTokenBlock < a.n_tokens ? tb + kTokenBlock : a.n_tokens;
        int64_t r = r0;
        for (; r + R <= r1; r += R) tile_tokens<K, R, T>(a, r, tb, te);
        for (; r < r1; ++r) tile_tokens<K, 1, T>(a, r, tb, te);
    }
}

// The usual entry point: one shape for a single token (matrix × vector, bound by memory:
// several rows at once for independent accumulators), another for a batch.
template <class K, int RV, int RM, int TM>
void gemm_entry(const GemmArgs& a, int64_t r0, int64_t r1) {
    if (a.n_tokens == 1) gemm_tiled<K, RV, 1>(a, r0, r1);
    else gemm_tiled<K, RM, TM>(a, r0, r1);
}

// --- The row-interleaved (x16) layout's kernels (repacked_*.cpp) ---

// One token's quantized activations (tensor/quantize_activations.h): codes, block scales,
// block sums.
struct TokenRow {
    const int8_t* q;
    const float* d;
    const float* s;
};

inline void token_rows(const GemmArgs& a, int64_t t, int n, TokenRow* out) {
    for (int j = 0; j < n; ++j) {
        const uint8_t* row = a.x + static_cast<size_t>(t + j) * a.x_stride;
        out[j] = {reinterpret_cast<const int8_t*>(row), reinterpret_cast<const float*>(row + a.x_scale_offset),
                  reinterpret_cast<const float*>(row + a.x_sum_offset)};
    }
}

// An x16 kernel K provides `template <int G, int T> static void tile(const GemmArgs&, int64_t r,
// int64_t r1, int64_t t)`: G row units (16-row groups or 8-row halves) from row r, tokens
// t..t+T-1, writing only rows below r1. This walks rows [r0, r1) in units of `kUnit` rows and
// all tokens in tiles of K::kTokens (token blocks of kTokenBlock for L2).
template <class K, int N>
inline void x16_tail(const GemmArgs& a, int64_t r, int64_t r1, int64_t t, int64_t n) {
    if constexpr (N > 0) {
        if (n == N) K::template tile<1, N>(a, r, r1, t);
        else x16_tail<K, N - 1>(a, r, r1, t, n);
    }
}

template <class K, int kUnit>
void x16_gemm_tokens(const GemmArgs& a, int64_t r0, int64_t r1) {
    for (int64_t tb = 0; tb < a.n_tokens; tb += kTokenBlock) {
        const int64_t te = tb + kTokenBlock < a.n_tokens ? tb + kTokenBlock : a.n_tokens;
        for (int64_t r = r0; r < r1; r += kUnit) {
            int64_t t = tb;
            for (; t + K::kTokens <= te; t += K::kTokens) K::template tile<1, K::kTokens>(a, r, r1, t);
            if (t < te) x16_tail<K, K::kTokens - 1>(a, r, r1, t, te - t);
        }
    }
}

}  // namespace
}  // namespace hearth::ops::cpu
