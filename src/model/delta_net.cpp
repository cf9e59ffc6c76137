// The gated delta-net layer of the hybrid families (qwen35, qwen35moe), in place of attention:
//   c = conv1d(attn_qkv·h) then SiLU, split into q, k (n_k_heads × d each) and v (n_v_heads × d);
//   q, k L2-normalised per head; β = σ(ssm_beta·h); g = softplus(ssm_alpha·h + dt_bias) · ssm_a;
//   o = gated_delta_net(q, k, v, g, β) with the sequence's state; per head rms(o, ssm_norm) ⊙ silu(z),
//   z = attn_gate·h; x += ssm_out·that.
// The convolution and the recurrence run over a sequence's tokens in order against its own
// state (kv_cache.h), so a prompt in one batch, in chunks or token by token gives the same result
// (up to float rounding: long calls run the delta rule's chunked form, ops.h).
#include <algorithm>
#include <cmath>

#include "model/model.h"
#include "model/run_state.h"

namespace hearth {
namespace {

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

}  // namespace

void Model::delta_net_block(ops::Context& ctx, int il, std::span<const SequenceBatch> seqs,
                            const std::vector<int64_t>& first_row, RunState& rs, int64_t T) const {
    const HParams& hp = hp_;
    const LayerWeights& L = w_.layers[il];
    const DeltaNetParams& s = hp.ssm;
    const int64_t E = hp.n_embd, C = s.conv_channels(), I = s.inner(), H = s.n_v_heads, d = s.state_size;
    const int64_t QK = int64_t{s.n_k_heads} * d;  // width of q (and of k)
    float *x = rs.x.data(), *h = rs.h.data(), *qkv = rs.qkv.data(), *conv = rs.conv.data();
    float *z = rs.z.data(), *beta = rs.beta.data(), *decay = rs.decay.data(), *out = rs.delta.data();

    ops::rmsnorm(x, h, L.attn_norm.data(), T, E, hp.norm_eps);
    ops::matmul(ctx, L.ssm_qkv, h, T, qkv);
    ops::matmul(ctx, L.ssm_z, h, T, z);
    ops::matmul(ctx, L.ssm_beta, h, T, beta);
    ops::matmul(ctx, L.ssm_alpha, h, T, decay);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j < H; ++j) {
            beta[t * H + j] = sigmoid(beta[t * H + j]);
            decay[t * H + j] = softplus(decay[t * H + j] + L.ssm_dt_bias[j]) * L.ssm_a[j];
        }

    ops::DeltaNetShape shape{s.n_k_heads, s.n_v_heads, s.state_size, s.state_size,
                             1.0f / std::sqrt(static_cast<float>(d))};
    shape.qk_row_stride = shape.v_row_stride = C;
    for (size_t i = 0; i < seqs.size(); ++i) {
        const int64_t r = first_row[i], n = static_cast<int64_t>(seqs[i].tokens.size());
        KvCache& cache = *seqs[i].cache;
        ops::causal_conv1d(qkv + r * C, n, C, L.ssm_conv.data(), s.conv_kernel, cache.conv_state(il), conv + r * C);
        ops::silu(conv + r * C, n * C);
        for (int64_t t = r; t < r + n; ++t) ops::l2_normalize(conv + t * C, 2 * s.n_k_heads, d, hp.norm_eps);
        ops::gated_delta_net(ctx, conv + r * C, conv + r * C + QK, conv + r * C + 2 * QK, decay + r * H, beta + r * H, n,
                             shape, cache.delta_state(il), out + r * I);
    }
    ops::rmsnorm(out, L.ssm_norm.data(), T * H, d, hp.norm_eps);
    ops::silu_mul(z, out, T * I);  // z ← silu(z) ⊙ rms(o)
    ops::matmul(ctx, L.ssm_out, z, T, h);
    ops::add(x, h, T * E);
}

}  // namespace hearth
