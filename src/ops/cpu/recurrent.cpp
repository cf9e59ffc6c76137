// The recurrent-layer ops (ops.h): the short causal convolution and the gated delta rule.
// Both walk the tokens in order, which makes them exact under any split of a sequence into
// calls; the delta rule spreads its value heads over the threads (each head's state is its own).
#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "common/error.h"
#include "ops/ops.h"

namespace hearth::ops {

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
    const int64_t dk = s.k_dim, dv = s.v_dim;
    const int64_t q_stride = s.qk_row_stride > 0 ? s.qk_row_stride : s.n_k_heads * dk;
    const int64_t v_stride = s.v_row_stride > 0 ? s.v_row_stride : s.n_v_heads * dv;
    const int64_t out_stride = s.n_v_heads * dv;
    auto heads = [&](int64_t h0, int64_t h1) {
        // Per-thread scratch: this runs per layer and token, so it must not allocate each call.
        thread_local std::vector<float> scratch;
        if (scratch.size() < static_cast<size_t>(2 * dv)) scratch.resize(static_cast<size_t>(2 * dv));
        std::span<float> kv(scratch.data(), static_cast<size_t>(dv)), delta(scratch.data() + dv, static_cast<size_t>(dv));
        for (int64_t h = h0; h < h1; ++h) {
            float* S = state + h * dk * dv;
            const int64_t kh = h % s.n_k_heads;
            for (int64_t t = 0; t < n_tokens; ++t) {
                const float* qt = q + t * q_stride + kh * dk;
                const float* kt = k + t * q_stride + kh * dk;
                const float* vt = v + t * v_stride + h * dv;
                float* ot = out + t * out_stride + h * dv;
                const float decay = std::exp(g[t * s.n_v_heads + h]);
                const float b = beta[t * s.n_v_heads + h];
                // Sᵀk on the old state; the decay scales it (and S) in the same pass below.
                std::fill(kv.begin(), kv.end(), 0.0f);
                for (int64_t a = 0; a < dk; ++a) {
                    const float ka = kt[a];
                    const float* Sa = S + a * dv;
                    for (int64_t c = 0; c < dv; ++c) kv[c] += Sa[c] * ka;
                }
                for (int64_t c = 0; c < dv; ++c) delta[c] = b * (vt[c] - decay * kv[c]);
                std::fill_n(ot, dv, 0.0f);
                for (int64_t a = 0; a < dk; ++a) {
                    const float ka = kt[a], qa = qt[a] * s.scale;
                    float* Sa = S + a * dv;
                    for (int64_t c = 0; c < dv; ++c) {
                        Sa[c] = decay * Sa[c] + ka * delta[c];
                        ot[c] += Sa[c] * qa;
                    }
                }
            }
        }
    };
    if (ctx.pool) ctx.pool->parallel_for(s.n_v_heads, heads, 1);
    else heads(0, s.n_v_heads);
}

}  // namespace hearth::ops
