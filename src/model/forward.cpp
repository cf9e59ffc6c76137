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
    const int64_t T = static_cast<int64_t>(tokens.size());
    if (T == 0) fail("forward: empty batch");
    SequenceBatch seq{std::span<const int32_t>(tokens), n_past, &cache};
    std::vector<int64_t> out_rows;
    for (int64_t t = which == LogitsFor::All ? 0 : T - 1; t < T; ++t) out_rows.push_back(t);
    run(ctx, std::span<const SequenceBatch>(&seq, 1), out_rows, logits);
}

void Model::forward_batch(ops::Context& ctx, std::span<const SequenceBatch> seqs, std::vector<float>& logits) const {
    if (seqs.empty()) fail("forward: empty batch");
    std::vector<int64_t> out_rows;
    int64_t row = 0;
    for (const SequenceBatch& s : seqs) {
        if (s.tokens.empty()) fail("forward: a sequence of the batch has no tokens");
        row += static_cast<int64_t>(s.tokens.size());
        out_rows.push_back(row - 1);
    }
    for (size_t i = 0; i < seqs.size(); ++i)
        for (size_t j = i + 1; j < seqs.size(); ++j)
            if (seqs[i].cache == seqs[j].cache) fail("forward: two sequences of a batch share a KV cache");
    run(ctx, seqs, out_rows, logits);
}

void Model::run(ops::Context& ctx, std::span<const SequenceBatch> seqs, const std::vector<int64_t>& out_rows,
                std::vector<float>& logits) const {
    const HParams& hp = hp_;
    int64_t T = 0;
    for (const SequenceBatch& s : seqs) {
        const auto n = static_cast<int64_t>(s.tokens.size());
        if (!s.cache) fail("forward: a sequence of the batch has no KV cache");
        if (s.n_past < 0 || s.n_past + n > s.cache->n_ctx())
            fail("forward: positions {}..{} exceed the context size {}", s.n_past, s.n_past + n - 1, s.cache->n_ctx());
        T += n;
    }
    const int64_t E = hp.n_embd, Q = hp.q_width(), K = hp.kv_width(), V = hp.v_width(), F = hp.n_ff;
    const int64_t attn_out_width = static_cast<int64_t>(hp.n_head) * hp.head_dim_v;

    // Rows of the batch: every sequence's tokens back to back, each with its own position.
    std::vector<int32_t> pos(T);
    std::vector<int64_t> first_row(seqs.size());
    // Activations for the whole batch: [T][width] each.
    std::vector<float> x(T * E), h(T * E), q(T * Q), k(T * K), v(T * V), attn(T * attn_out_width),
        gate(T * F), up(T * F);
    int64_t row = 0;
    for (size_t s = 0; s < seqs.size(); ++s) {
        first_row[s] = row;
        for (size_t t = 0; t < seqs[s].tokens.size(); ++t, ++row) {
            const int32_t tok = seqs[s].tokens[t];
            pos[row] = seqs[s].n_past + static_cast<int32_t>(t);
            if (tok < 0 || tok >= hp.n_vocab)
                fail("token id {} at position {} is out of range (vocabulary has {} tokens)", tok, pos[row],
                     hp.n_vocab);
            ops::get_row(w_.token_embd, tok, &x[row * E]);
        }
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
        // Each sequence stores into and attends over its own cache only.
        for (size_t s = 0; s < seqs.size(); ++s) {
            const int64_t r = first_row[s], n = static_cast<int64_t>(seqs[s].tokens.size());
            const ops::KvLayerView kv = seqs[s].cache->layer(il);
            ops::kv_store(kv, &k[r * K], &v[r * V], &pos[r], n);
            ops::attention(ctx, &q[r * Q], &pos[r], n, kv, shape, &attn[r * attn_out_width]);
        }
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
    const auto n_out = static_cast<int64_t>(out_rows.size());
    for (int64_t i = 0; i < n_out; ++i)
        ops::rmsnorm(&x[out_rows[i] * E], &h[i * E], w_.output_norm.data(), 1, E, hp.norm_eps);
    logits.resize(static_cast<size_t>(n_out) * hp.n_vocab);
    ops::matmul(ctx, w_.output, h.data(), n_out, logits.data());
}

}  // namespace hearth
