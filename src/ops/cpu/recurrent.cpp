// The recurrent-layer ops (ops.h): the short causal convolution and the gated delta rule.
// Both walk a sequence in order, so any split of it into calls gives the same result. The delta
// rule spreads its value heads over the threads (each head's state is its own) and runs each
// head token by token (decode, and the reference) or in chunks (prefill, below). The SIMD paths
// replace the token loop and the chunks' matrix products with the kernels of
// delta_rule_avx*.cpp; the loops here are the reference they are tested against.
#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "common/error.h"
#include "ops/cpu/kernels.h"
#include "ops/ops.h"

namespace hearth::ops {
namespace {

// c += a·b (the reference for KernelTable::small_gemm_f32).
void small_gemm_reference(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                          float* c, int64_t ldc) {
    for (int64_t i = 0; i < m; ++i) {
        float* ci = c + i * ldc;
        for (int64_t p = 0; p < k; ++p) {
            const float aip = a[i * lda + p];
            const float* bp = b + p * ldb;
            for (int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
        }
    }
}

// One head, token by token: the definition in ops.h, float for float.
void delta_tokens_reference(const cpu::DeltaHeadArgs& a) {
    const int64_t dk = a.k_dim, dv = a.v_dim;
    // Per-thread scratch: this runs per layer and token, so it must not allocate each call.
    thread_local std::vector<float> scratch;
    if (scratch.size() < static_cast<size_t>(2 * dv)) scratch.resize(static_cast<size_t>(2 * dv));
    std::span<float> kv(scratch.data(), static_cast<size_t>(dv)), delta(scratch.data() + dv, static_cast<size_t>(dv));
    float* S = a.state;
    for (int64_t t = 0; t < a.n_tokens; ++t) {
        const float* qt = a.q + t * a.qk_stride;
        const float* kt = a.k + t * a.qk_stride;
        const float* vt = a.v + t * a.v_stride;
        float* ot = a.out + t * a.out_stride;
        const float decay = std::exp(a.g[t * a.gate_stride]);
        const float b = a.beta[t * a.gate_stride];
        // Sᵀk on the old state; the decay scales it (and S) in the same pass below.
        std::fill(kv.begin(), kv.end(), 0.0f);
        for (int64_t i = 0; i < dk; ++i) {
            const float ki = kt[i];
            const float* Si = S + i * dv;
            for (int64_t c = 0; c < dv; ++c) kv[c] += Si[c] * ki;
        }
        for (int64_t c = 0; c < dv; ++c) delta[c] = b * (vt[c] - decay * kv[c]);
        std::fill_n(ot, dv, 0.0f);
        for (int64_t i = 0; i < dk; ++i) {
            const float ki = kt[i], qi = qt[i] * a.scale;
            float* Si = S + i * dv;
            for (int64_t c = 0; c < dv; ++c) {
                Si[c] = decay * Si[c] + ki * delta[c];
                ot[c] += Si[c] * qi;
            }
        }
    }
}

// e^x for a log decay x ≤ 0 (float exp: the chunk takes n²/2 of them); 0 where the float would
// be denormal (slow, and negligible).
float decay_factor(double x) { return x < -80.0 ? 0.0f : std::exp(static_cast<float>(x)); }

// One chunk of n tokens of one head. With γ_i = Σ_{j≤i} g_j (the log decay from the chunk's
// start S₀ through token i) and u_i = δ_i, unrolling the recurrence gives
//   S_i = e^{γ_i} S₀ + Σ_{j≤i} e^{γ_i−γ_j} k_j u_jᵀ,
//   u_i = β_i (v_i − e^{γ_i} S₀ᵀk_i − Σ_{j<i} e^{γ_i−γ_j} (k_i·k_j) u_j)   (lower triangular in u),
//   o_i = scale (e^{γ_i} S₀ᵀq_i + Σ_{j≤i} e^{γ_i−γ_j} (q_i·k_j) u_j).
// Every exponent is a difference γ_i − γ_j with i ≥ j, so ≤ 0: no factor can overflow.
void delta_chunk(const cpu::DeltaHeadArgs& a, int64_t n, cpu::SmallGemmFn gemm) {
    const int64_t dk = a.k_dim, dv = a.v_dim, qs = a.qk_stride;
    thread_local std::vector<float> buf;
    thread_local std::vector<double> gamma;
    const size_t need = static_cast<size_t>(dk * n + 3 * n * n + 3 * n * dv + n);
    if (buf.size() < need) buf.resize(need);
    if (gamma.size() < static_cast<size_t>(n)) gamma.resize(static_cast<size_t>(n));
    float* kt = buf.data();       // [dk][n]: kᵀ, later scaled for the state update
    float* kk = kt + dk * n;      // [n][n]: k_i·k_j
    float* qk = kk + n * n;       // [n][n]: q_i·k_j, then the output weights
    float* ks = qk + n * n;       // [n][dv]: S₀ᵀk_i
    float* qs0 = ks + n * dv;     // [n][dv]: S₀ᵀq_i
    float* u = qs0 + n * dv;      // [n][dv]: the δs
    float* coef = u + n * dv;     // [n]
    float* decay = coef + n;      // [n][n]: e^{γ_i−γ_j} for j ≤ i
    std::fill(kk, u, 0.0f);

    double sum = 0;
    for (int64_t i = 0; i < n; ++i) gamma[i] = sum += a.g[i * a.gate_stride];
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j <= i; ++j) decay[i * n + j] = decay_factor(gamma[i] - gamma[j]);
    for (int64_t p = 0; p < dk; ++p)  // rows of kᵀ written in order; the reads stay in L1
        for (int64_t j = 0; j < n; ++j) kt[p * n + j] = a.k[j * qs + p];
    // Only j ≤ i of k_i·k_j and q_i·k_j is used: each block of rows stops at its last row.
    constexpr int64_t kRowBlock = 16;
    for (int64_t i0 = 0; i0 < n; i0 += kRowBlock) {
        const int64_t m = std::min(kRowBlock, n - i0);
        gemm(m, i0 + m, dk, a.k + i0 * qs, qs, kt, n, kk + i0 * n, n);
        gemm(m, i0 + m, dk, a.q + i0 * qs, qs, kt, n, qk + i0 * n, n);
    }
    gemm(n, dv, dk, a.k, qs, a.state, dv, ks, dv);
    gemm(n, dv, dk, a.q, qs, a.state, dv, qs0, dv);

    for (int64_t i = 0; i < n; ++i) {
        const float b = a.beta[i * a.gate_stride], e = decay_factor(gamma[i]);
        const float* vi = a.v + i * a.v_stride;
        float* ui = u + i * dv;
        for (int64_t c = 0; c < dv; ++c) ui[c] = b * (vi[c] - e * ks[i * dv + c]);
        if (i == 0) continue;
        for (int64_t j = 0; j < i; ++j) coef[j] = -b * decay[i * n + j] * kk[i * n + j];
        gemm(1, dv, i, coef, n, u, dv, ui, dv);  // forward substitution: rows j < i are final
    }

    for (int64_t i = 0; i < n; ++i) {
        float* wi = qk + i * n;
        for (int64_t j = 0; j <= i; ++j) wi[j] *= a.scale * decay[i * n + j];
        std::fill(wi + i + 1, wi + n, 0.0f);
        const float e = a.scale * decay_factor(gamma[i]);
        float* oi = a.out + i * a.out_stride;
        for (int64_t c = 0; c < dv; ++c) oi[c] = e * qs0[i * dv + c];
    }
    // The weights are lower triangular: each block of rows needs only the δs up to its last row.
    for (int64_t i0 = 0; i0 < n; i0 += kRowBlock) {
        const int64_t m = std::min(kRowBlock, n - i0);
        gemm(m, dv, i0 + m, qk + i0 * n, n, u, dv, a.out + i0 * a.out_stride, a.out_stride);
    }

    const double last = gamma[n - 1];
    for (int64_t j = 0; j < n; ++j) coef[j] = decay_factor(last - gamma[j]);
    for (int64_t p = 0; p < dk; ++p)
        for (int64_t j = 0; j < n; ++j) kt[p * n + j] *= coef[j];
    const float e = decay_factor(last);
    for (int64_t i = 0; i < dk * dv; ++i) a.state[i] *= e;
    gemm(dk, dv, n, kt, n, u, dv, a.state, dv);
}

}  // namespace

void causal_conv1d(const float* in, int64_t n_tokens, int64_t channels, const float* w, int kernel, float* state,
                   float* out) {
    if (kernel < 1) fail("causal_conv1d: kernel width {} must be at least 1", kernel);
    const int64_t C = channels;
    const int64_t history = kernel - 1;
    // The input at relative time s (s < 0: from the state, s ≥ 0: from this call).
    auto input = [&](int64_t s) { return s < 0 ? state + (history + s) * C : in + s * C; };
    for (int64_t t = 0; t < n_tokens; ++t) {
        float* o = out + t * C;
        std::fill_n(o, C, 0.0f);
        for (int j = 0; j < kernel; ++j) {
            const float* x = input(t - history + j);
            for (int64_t c = 0; c < C; ++c) o[c] += w[c * kernel + j] * x[c];
        }
    }
    if (history == 0) return;
    // The last `history` inputs, oldest first: some from the old state when n_tokens < history.
    if (n_tokens >= history) {
        std::copy_n(in + (n_tokens - history) * C, history * C, state);
    } else {
        std::copy(state + n_tokens * C, state + history * C, state);
        std::copy_n(in, n_tokens * C, state + (history - n_tokens) * C);
    }
}

void l2_normalize(float* x, int64_t n_rows, int64_t n, float eps) {
    for (int64_t r = 0; r < n_rows; ++r) {
        float* xr = x + r * n;
        double sum = 0;
        for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i]) * xr[i];
        const float inv = static_cast<float>(1.0 / std::sqrt(sum + eps));
        for (int64_t i = 0; i < n; ++i) xr[i] *= inv;
    }
}

void gated_delta_net(Context& ctx, const float* q, const float* k, const float* v, const float* g,
                     const float* beta, int64_t n_tokens, const DeltaNetShape& s, float* state, float* out) {
    if (s.n_k_heads <= 0 || s.n_v_heads <= 0 || s.k_dim <= 0 || s.v_dim <= 0)
        fail("gated_delta_net: bad shape ({} k heads, {} v heads, dims {} × {})", s.n_k_heads, s.n_v_heads, s.k_dim,
             s.v_dim);
    if (s.chunk < 0 || s.chunk > kDeltaChunkMax)
        fail("gated_delta_net: chunk {} outside 0..{}", s.chunk, kDeltaChunkMax);
    const int64_t chunk = s.chunk != 0 ? s.chunk : n_tokens >= kDeltaChunkMin ? kDeltaChunk : 1;
    const int64_t dk = s.k_dim, dv = s.v_dim;
    const int64_t qk_stride = s.qk_row_stride > 0 ? s.qk_row_stride : s.n_k_heads * dk;
    const int64_t v_stride = s.v_row_stride > 0 ? s.v_row_stride : s.n_v_heads * dv;
    const cpu::KernelTable* table = cpu::active_kernel_table();
    const cpu::SmallGemmFn gemm = table && table->small_gemm_f32 ? table->small_gemm_f32 : small_gemm_reference;
    const cpu::DeltaTokensFn tokens = table && table->delta_tokens ? table->delta_tokens : delta_tokens_reference;
    auto heads = [&](int64_t h0, int64_t h1) {
        for (int64_t h = h0; h < h1; ++h) {
            const int64_t kh = h % s.n_k_heads;
            cpu::DeltaHeadArgs a{q + kh * dk, k + kh * dk, qk_stride, v + h * dv, v_stride, g + h, beta + h,
                                 s.n_v_heads,  out + h * dv, s.n_v_heads * dv, n_tokens, dk, dv, s.scale,
                                 state + h * dk * dv};
            if (chunk == 1) {
                tokens(a);
                continue;
            }
            for (int64_t t0 = 0; t0 < n_tokens; t0 += chunk) {
                cpu::DeltaHeadArgs c = a;
                c.q += t0 * qk_stride;
                c.k += t0 * qk_stride;
                c.v += t0 * v_stride;
                c.g += t0 * s.n_v_heads;
                c.beta += t0 * s.n_v_heads;
                c.out += t0 * a.out_stride;
                delta_chunk(c, std::min(chunk, n_tokens - t0), gemm);
            }
        }
    };
    if (ctx.pool) ctx.pool->parallel_for(s.n_v_heads, heads, 1);
    else heads(0, s.n_v_heads);
}

}  // namespace hearth::ops
