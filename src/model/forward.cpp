// The llama-family forward pass, in PyTorch order:
//   x = embed(tokens)
//   for each layer:  x += attn_output(attention(rope(q), rope(k), v))   on rmsnorm(x)
//                    x += ffn_down(silu(ffn_gate(h)) · ffn_up(h))        on h = rmsnorm(x)
//   logits = output(rmsnorm(x))
// Family differences are flags: qkv biases (qwen2), per-head q/k norms (qwen3), rope style.
#include <cmath>

#include "common/error.h"
#include "model/model.h"

namespace hearth {

void Model::forward(ops::Context& ctx, const std::vector<int32_t>& tokens, int n_past, KvCache& cache,
                    LogitsFor which, std::vector<float>& logits) const {
    const HParams& hp = hp_;
    const int64_t T = static_cast<int64_t>(tokens.size());
    if (T == 0) fail("forward: empty batch");
    if (n_past < 0 || n_past + T > cache.n_ctx())
        fail("forward: positions {}..{} exceed the context size {}", n_past, n_past + T - 1, cache.n_ctx());
    const int64_t E = hp.n_embd, Q = hp.q_width(), K = hp.kv_width(), V = hp.v_width(), F = hp.n_ff;
    const int64_t attn_out_width = static_cast<int64_t>(hp.n_head) * hp.head_dim_v;

    std::vector<int32_t> pos(T);
    for (int64_t t = 0; t < T; ++t) pos[t] = n_past + static_cast<int32_t>(t);

    // Activations for the whole batch: [T][width] each.
    std::vector<float> x(T * E), h(T * E), q(T * Q), k(T * K), v(T * V), attn(T * attn_out_width),
        gate(T * F), up(T * F);

    for (int64_t t = 0; t < T; ++t) {
        if (tokens[t] < 0 || tokens[t] >= hp.n_vocab)
            fail("token id {} at position {} is out of range (vocabulary has {} tokens)", tokens[t],
                 n_past + t, hp.n_vocab);
        ops::get_row(w_.token_embd, tokens[t], &x[t * E]);
    }

    ops::AttentionShape shape{hp.n_head, hp.n_head_kv, hp.head_dim, hp.head_dim_v,
                              1.0f / std::sqrt(static_cast<float>(hp.head_dim))};

    for (int il = 0; il < hp.n_layer; ++il) {
        const LayerWeights& L = w_.layers[il];

        // Attention block.
        ops::rmsnorm(x.data(), h.data(), L.attn_norm.data(), T, E, hp.norm_eps);
        ops::matmul(ctx, L.wq, h.data(), T, q.data());
        ops::matmul(ctx, L.wk, h.data(), T, k.data());
        ops::matmul(ctx, L.wv, h.data(), T, v.data());
        if (!L.bq.empty()) ops::add_bias(q.data(), L.bq.data(), T, Q);
        if (!L.bk.empty()) ops::add_bias(k.data(), L.bk.data(), T, K);
        if (!L.bv.empty()) ops::add_bias(v.data(), L.bv.data(), T, V);
        if (!L.q_norm.empty()) ops::rmsnorm(q.data(), L.q_norm.data(), T * hp.n_head, hp.head_dim, hp.norm_eps);
        if (!L.k_norm.empty()) ops::rmsnorm(k.data(), L.k_norm.data(), T * hp.n_head_kv, hp.head_dim, hp.norm_eps);
        ops::rope(q.data(), pos.data(), T, hp.n_head, hp.head_dim, hp.rope);
        ops::rope(k.data(), pos.data(), T, hp.n_head_kv, hp.head_dim, hp.rope);
        const ops::KvLayerView kv = cache.layer(il);
        ops::kv_store(kv, k.data(), v.data(), pos.data(), T);
        ops::attention(ctx, q.data(), pos.data(), T, kv, shape, attn.data());
        ops::matmul(ctx, L.wo, attn.data(), T, h.data());
        ops::add(x.data(), h.data(), T * E);

        // Feed-forward block (SwiGLU).
        ops::rmsnorm(x.data(), h.data(), L.ffn_norm.data(), T, E, hp.norm_eps);
        ops::matmul(ctx, L.w_gate, h.data(), T, gate.data());
        ops::matmul(ctx, L.w_up, h.data(), T, up.data());
        ops::silu_mul(gate.data(), up.data(), T * F);
        ops::matmul(ctx, L.w_down, gate.data(), T, h.data());
        ops::add(x.data(), h.data(), T * E);
    }

    // Only the rows that need logits go through the (large) output matrix.
    const int64_t first = which == LogitsFor::All ? 0 : T - 1;
    const int64_t n_out = T - first;
    ops::rmsnorm(x.data() + first * E, h.data(), w_.output_norm.data(), n_out, E, hp.norm_eps);
    logits.resize(static_cast<size_t>(n_out) * hp.n_vocab);
    ops::matmul(ctx, w_.output, h.data(), n_out, logits.data());
}

}  // namespace hearth
