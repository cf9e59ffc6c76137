#pragma once
// The gated delta rule's kernels (kernels.h SmallGemmFn, DeltaTokensFn) for any vector width.
// Both only reorder the reference's additions (recurrent.cpp): vectors run along the value
// dimension, where every operation of the rule is independent per column.
//
// Instantiated by delta_rule_avx2.cpp and delta_rule_avx512.cpp, which supply V (compiled with
// their instruction set's flags, see dispatch.h): `using Vec`, `kLanes`, `zero()`, `set1(float)`,
// `load(const float*)`, `store(float*, Vec)`, `fmadd(a, b, c)`, `mul(a, b)`, `sub(a, b)`.
// Columns past the last whole vector run in scalar code.
// Included by the SIMD files only, after their *_common.h (internal linkage, see dispatch.h).
#include <cstddef>
#include <cstdint>

namespace hearth::ops::cpu {
namespace {

template <class V>
struct DeltaRuleKernel {
    using Vec = typename V::Vec;
    static constexpr int L = V::kLanes;

    // c[R rows][B vectors] += a · b, the accumulators in registers across the whole k loop.
    template <int R, int B>
    static void gemm_tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                          int64_t ldc) {
        Vec acc[R][B];
        for (int r = 0; r < R; ++r)
            for (int x = 0; x < B; ++x) acc[r][x] = V::load(c + r * ldc + x * L);
        for (int64_t p = 0; p < k; ++p) {
            Vec bv[B];
            for (int x = 0; x < B; ++x) bv[x] = V::load(b + p * ldb + x * L);
            for (int r = 0; r < R; ++r) {
                const Vec av = V::set1(a[r * lda + p]);
                for (int x = 0; x < B; ++x) acc[r][x] = V::fmadd(av, bv[x], acc[r][x]);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int x = 0; x < B; ++x) V::store(c + r * ldc + x * L, acc[r][x]);
    }

    template <int R, int B>
    static void gemm_columns(int64_t m, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                             int64_t ldc) {
        int64_t i = 0;
        for (; i + R <= m; i += R) gemm_tile<R, B>(k, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
        for (; i < m; ++i) gemm_tile<1, B>(k, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
    }

    static void gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                     float* c, int64_t ldc) {
        constexpr int kRows = 4, kVecs = V::kGemmVectors;
        int64_t j = 0;
        for (; j + kVecs * L <= n; j += kVecs * L) gemm_columns<kRows, kVecs>(m, k, a, lda, b + j, ldb, c + j, ldc);
        for (; j + L <= n; j += L) gemm_columns<kRows, 1>(m, k, a, lda, b + j, ldb, c + j, ldc);
        if (j == n) return;
        for (int64_t i = 0; i < m; ++i)
            for (int64_t p = 0; p < k; ++p) {
                const float aip = a[i * lda + p];
                for (int64_t jj = j; jj < n; ++jj) c[i * ldc + jj] += aip * b[p * ldb + jj];
            }
    }

    // Columns [c0, c0 + B·L) of one head over all tokens. That slice of S (k_dim × B·L) stays in
    // L1 from token to token, and its two passes per token (Sᵀk, then the update with the
    // output) keep their column vectors in registers.
    template <int B>
    static void token_columns(const DeltaHeadArgs& a, int64_t c0) {
        const int64_t dk = a.k_dim, dv = a.v_dim;
        float* S = a.state + c0;
        for (int64_t t = 0; t < a.n_tokens; ++t) {
            const float* kt = a.k + t * a.qk_stride;
            const float* qt = a.q + t * a.qk_stride;
            const float* vt = a.v + t * a.v_stride + c0;
            const float decay = __builtin_expf(a.g[t * a.gate_stride]);
            const Vec dec = V::set1(decay), b = V::set1(a.beta[t * a.gate_stride]);
            Vec acc[B];
            for (int x = 0; x < B; ++x) acc[x] = V::zero();
            for (int64_t i = 0; i < dk; ++i) {
                const Vec ki = V::set1(kt[i]);
                for (int x = 0; x < B; ++x) acc[x] = V::fmadd(ki, V::load(S + i * dv + x * L), acc[x]);
            }
            Vec delta[B];
            for (int x = 0; x < B; ++x) {
                delta[x] = V::mul(b, V::sub(V::load(vt + x * L), V::mul(dec, acc[x])));
                acc[x] = V::zero();  // now the output
            }
            for (int64_t i = 0; i < dk; ++i) {
                const Vec ki = V::set1(kt[i]), qi = V::set1(qt[i] * a.scale);
                float* Si = S + i * dv;
                for (int x = 0; x < B; ++x) {
                    const Vec sv = V::fmadd(ki, delta[x], V::mul(dec, V::load(Si + x * L)));
                    V::store(Si + x * L, sv);
                    acc[x] = V::fmadd(qi, sv, acc[x]);
                }
            }
            float* ot = a.out + t * a.out_stride + c0;
            for (int x = 0; x < B; ++x) V::store(ot + x * L, acc[x]);
        }
    }

    // Columns [c0, c1) in scalar code (the reference's operations, per column).
    static void token_columns_scalar(const DeltaHeadArgs& a, int64_t c0, int64_t c1) {
        const int64_t dk = a.k_dim, dv = a.v_dim;
        for (int64_t t = 0; t < a.n_tokens; ++t) {
            const float* kt = a.k + t * a.qk_stride;
            const float* qt = a.q + t * a.qk_stride;
            const float decay = __builtin_expf(a.g[t * a.gate_stride]), b = a.beta[t * a.gate_stride];
            for (int64_t c = c0; c < c1; ++c) {
                float kv = 0;
                for (int64_t i = 0; i < dk; ++i) kv += a.state[i * dv + c] * kt[i];
                const float delta = b * (a.v[t * a.v_stride + c] - decay * kv);
                float o = 0;
                for (int64_t i = 0; i < dk; ++i) {
                    float& s = a.state[i * dv + c];
                    s = decay * s + kt[i] * delta;
                    o += s * (qt[i] * a.scale);
                }
                a.out[t * a.out_stride + c] = o;
            }
        }
    }

    static void tokens(const DeltaHeadArgs& a) {
        constexpr int kVecs = V::kTokenVectors;
        int64_t c = 0;
        for (; c + kVecs * L <= a.v_dim; c += kVecs * L) token_columns<kVecs>(a, c);
        for (; c + L <= a.v_dim; c += L) token_columns<1>(a, c);
        if (c < a.v_dim) token_columns_scalar(a, c, a.v_dim);
    }
};

}  // namespace
}  // namespace hearth::ops::cpu
