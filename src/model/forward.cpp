// The forward pass, in PyTorch order, for every family:
//   x = embed(tokens) · embd_scale
//   for each layer:  x += [post_norm] attn_output(attention(rope(q), rope(k), v) [⊙ σ(gate)])  on h = rmsnorm(x)
//                       (or, in the recurrent layers of hybrids, x += delta_net(h): delta_net.cpp)
//                    x += [post_norm] ffn(h)          (dense gated FFN or mixture of experts)
//   logits = output(rmsnorm(x))          (embeddings: rmsnorm(x) itself, Model::hidden_states)
// Family differences are the ArchSpec's flags and which tensors exist (biases, q/k norms,
// sinks, fused projections, post norms), never copies of this code.
#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "model/activation.h"
#include "model/model.h"
#include "model/run_state.h"

namespace hearth {
namespace {

// One thread runs one forward pass at a time; its activations live on between calls.
thread_local RunState tls_run_state;

// Copies columns [c0, c0 + n) of each of T rows of width `width` into dst ([T][n]).
void copy_columns(const float* src, int64_t width, int64_t c0, int64_t n, int64_t T, float* dst) {
    for (int64_t t = 0; t < T; ++t) std::copy_n(src + t * width + c0, n, dst + t * n);
}

// A batch of several sequences: each brings tokens and its own cache.
void check_sequences(std::span<const SequenceBatch> seqs) {
    if (seqs.empty()) fail("forward: empty batch");
    for (const SequenceBatch& s : seqs)
        if (s.tokens.empty()) fail("forward: a sequence of the batch has no tokens");
    for (size_t i = 0; i < seqs.size(); ++i)
        for (size_t j = i + 1; j < seqs.size(); ++j)
            if (seqs[i].cache == seqs[j].cache) fail("forward: two sequences of a batch share a KV cache");
}

}  // namespace

void Model::forward(ops::Context& ctx, const std::vector<int32_t>& tokens, int n_past, KvCache& cache,
                    LogitsFor which, std::vector<float>& logits) const {
    const int64_t T = static_cast<int64_t>(tokens.size());
    if (T == 0) fail("forward: empty batch");
    SequenceBatch seq{std::span<const int32_t>(tokens), n_past, &cache};
    std::vector<int64_t> out_rows;
    for (int64_t t = which == LogitsFor::All ? 0 : T - 1; t < T; ++t) out_rows.push_back(t);
    run(ctx, std::span<const SequenceBatch>(&seq, 1), out_rows, Output::Logits, logits);
}

void Model::forward_batch(ops::Context& ctx, std::span<const SequenceBatch> seqs, std::vector<float>& logits) const {
    check_sequences(seqs);
    std::vector<int64_t> out_rows;
    int64_t row = 0;
    for (const SequenceBatch& s : seqs) {
        row += static_cast<int64_t>(s.tokens.size());
        out_rows.push_back(row - 1);
    }
    run(ctx, seqs, out_rows, Output::Logits, logits);
}

void Model::hidden_states(ops::Context& ctx, std::span<const SequenceBatch> seqs, std::vector<float>& hidden) const {
    check_sequences(seqs);
    std::vector<int64_t> out_rows;
    for (const SequenceBatch& s : seqs)
        for (size_t t = 0; t < s.tokens.size(); ++t) out_rows.push_back(static_cast<int64_t>(out_rows.size()));
    run(ctx, seqs, out_rows, Output::Hidden, hidden);
}

void Model::run(ops::Context& ctx, std::span<const SequenceBatch> seqs, const std::vector<int64_t>& out_rows,
                Output what, std::vector<float>& out) const {
    const HParams& hp = hp_;
    int64_t T = 0;
    int n_ctx = 0;
    for (const SequenceBatch& s : seqs) {
        const auto n = static_cast<int64_t>(s.tokens.size());
        if (!s.cache) fail("forward: a sequence of the batch has no KV cache");
        if (s.n_past < 0 || s.n_past + n > s.cache->n_ctx())
            fail("forward: positions {}..{} exceed the context size {}", s.n_past, s.n_past + n - 1, s.cache->n_ctx());
        T += n;
        n_ctx = std::max(n_ctx, s.cache->n_ctx());
    }
    const int64_t E = hp.n_embd;
    RunState& rs = tls_run_state;
    rs.reserve(hp, T);

    // A recurrent state continues only from the position it holds (kv_cache.h); position 0
    // starts a sequence afresh. While the pass runs the state is in between: a failure leaves
    // it unusable (-1) rather than wrong.
    if (hp.is_hybrid()) {
        for (const SequenceBatch& s : seqs) {
            if (s.n_past == 0) s.cache->clear_state();
            else if (s.cache->state_pos() != s.n_past)
                fail("forward: the recurrent state holds {} positions, cannot continue at position {} (a recurrent "
                     "state cannot be rewound; KvCache::rewind_to finds where it can resume)",
                     s.cache->state_pos(), s.n_past);
        }
        for (const SequenceBatch& s : seqs) s.cache->set_state_pos(-1);
    }

    // Rows of the batch: every sequence's tokens back to back, each with its own position.
    std::vector<int64_t> first_row(seqs.size());
    int64_t row = 0;
    for (size_t s = 0; s < seqs.size(); ++s) {
        first_row[s] = row;
        for (size_t t = 0; t < seqs[s].tokens.size(); ++t, ++row) {
            const int32_t tok = seqs[s].tokens[t];
            rs.pos[row] = seqs[s].n_past + static_cast<int32_t>(t);
            if (tok < 0 || tok >= hp.n_vocab)
                fail("token id {} at position {} is out of range (vocabulary has {} tokens)", tok, rs.pos[row],
                     hp.n_vocab);
            ops::get_row(w_.token_embd, tok, &rs.x[row * E]);
        }
    }
    if (hp.embd_scale != 1.0f) ops::scale(rs.x.data(), hp.embd_scale, T * E);
    if (hp.n_embd_per_layer > 0) per_layer_inputs(ctx, seqs, rs, T);

    // LongRoPE (phi3) picks its frequency factors by the context size, as llama.cpp does.
    ops::RopeParams rope = hp.rope;
    if (!w_.rope_factors_short.empty())
        rope.freq_factors = n_ctx > hp.n_ctx_orig && !w_.rope_factors_long.empty() ? w_.rope_factors_long.data()
                                                                                   : w_.rope_factors_short.data();

    for (int il = 0; il < hp.n_layer; ++il) {
        if (hp.layer_kind(il) == LayerKind::Recurrent) delta_net_block(ctx, il, seqs, first_row, rs, T);
        else attention_block(ctx, il, seqs, first_row, hp.uses_window(il) ? hp.rope_local : rope, rs, T);
        ffn_block(ctx, il, rs, T);
        if (hp.n_embd_per_layer > 0) per_layer_block(ctx, il, rs, T);
        if (!w_.layers[il].layer_out_scale.empty()) ops::scale(rs.x.data(), w_.layers[il].layer_out_scale[0], T * E);
    }
    if (hp.is_hybrid())
        for (const SequenceBatch& s : seqs) s.cache->set_state_pos(s.n_past + static_cast<int>(s.tokens.size()));

    // Only the rows that need logits go through the (large) output matrix; embeddings skip it.
    const auto n_out = static_cast<int64_t>(out_rows.size());
    if (what == Output::Hidden) out.resize(static_cast<size_t>(n_out * E));
    float* normed = what == Output::Hidden ? out.data() : rs.h.data();
    for (int64_t i = 0; i < n_out; ++i)
        ops::rmsnorm(&rs.x[out_rows[i] * E], &normed[i * E], w_.output_norm.data(), 1, E, hp.norm_eps);
    if (what == Output::Hidden) return;
    out.resize(static_cast<size_t>(n_out) * hp.n_vocab);
    ops::matmul(ctx, w_.output, rs.h.data(), n_out, out.data());
    if (hp.final_softcap > 0) ops::softcap(out.data(), hp.final_softcap, n_out * hp.n_vocab);
}

void Model::attention_block(ops::Context& ctx, int il, std::span<const SequenceBatch> seqs,
                            const std::vector<int64_t>& first_row, const ops::RopeParams& rope, RunState& rs,
                            int64_t T) const {
    const HParams& hp = hp_;
    const LayerWeights& L = w_.layers[il];
    const LayerGeometry g = hp.geometry(il);
    const int64_t E = hp.n_embd, Q = g.q_width(), K = g.kv_width(), V = g.v_width(), O = g.attn_out_width();
    const int64_t D = g.head_dim;
    float *x = rs.x.data(), *h = rs.h.data(), *q = rs.q.data(), *k = rs.k.data(), *v = rs.v.data();

    const bool gated = hp.spec().has(TensorGroup::AttnGatedQ);
    // Layers that read an earlier layer's KV (gemma4) compute queries only.
    const bool own_kv = !hp.shares_kv(il);

    ops::rmsnorm(x, h, L.attn_norm.data(), T, E, hp.norm_eps);
    if (!L.wqkv.empty()) {  // one fused projection: q, k and v rows back to back
        ops::matmul(ctx, L.wqkv, h, T, rs.qkv.data());
        copy_columns(rs.qkv.data(), Q + K + V, 0, Q, T, q);
        copy_columns(rs.qkv.data(), Q + K + V, Q, K, T, k);
        copy_columns(rs.qkv.data(), Q + K + V, Q + K, V, T, v);
    } else if (gated) {  // attn_q gives per head [q | output gate]
        ops::matmul(ctx, L.wq, h, T, rs.qkv.data());
        for (int64_t t = 0; t < T; ++t)
            for (int64_t hd = 0; hd < hp.n_head; ++hd) {
                const float* src = &rs.qkv[(t * hp.n_head + hd) * 2 * D];
                std::copy_n(src, D, q + t * Q + hd * D);
                std::copy_n(src + D, D, &rs.attn_gate[t * Q + hd * D]);
            }
        ops::matmul(ctx, L.wk, h, T, k);
        ops::matmul(ctx, L.wv, h, T, v);
    } else {
        ops::matmul(ctx, L.wq, h, T, q);
        if (own_kv) {
            ops::matmul(ctx, L.wk, h, T, k);
            if (!L.wv.empty()) ops::matmul(ctx, L.wv, h, T, v);
            else std::copy_n(k, T * K, v);  // gemma4 without attn_v: the values are the keys' projection
        }
    }
    if (!L.bq.empty()) ops::add_bias(q, L.bq.data(), T, Q);
    if (!L.q_norm.empty()) ops::rmsnorm(q, L.q_norm.data(), T * hp.n_head, D, hp.norm_eps);
    ops::rope(q, rs.pos.data(), T, hp.n_head, D, rope);
    if (own_kv) {
        if (!L.bk.empty()) ops::add_bias(k, L.bk.data(), T, K);
        if (!L.bv.empty()) ops::add_bias(v, L.bv.data(), T, V);
        if (!L.k_norm.empty()) ops::rmsnorm(k, L.k_norm.data(), T * g.n_head_kv, D, hp.norm_eps);
        if (hp.spec().value_norm) ops::rmsnorm(v, nullptr, T * g.n_head_kv, g.head_dim_v, hp.norm_eps);
        ops::rope(k, rs.pos.data(), T, g.n_head_kv, D, rope);
    }

    ops::AttentionShape shape{hp.n_head, g.n_head_kv, g.head_dim, g.head_dim_v, hp.attn_scale};
    shape.window = hp.uses_window(il) ? hp.n_swa : 0;
    shape.sinks = L.sinks.empty() ? nullptr : L.sinks.data();
    // Each sequence stores into and attends over its own cache only.
    for (size_t s = 0; s < seqs.size(); ++s) {
        const int64_t r = first_row[s], n = static_cast<int64_t>(seqs[s].tokens.size());
        KvCache& cache = *seqs[s].cache;
        if (own_kv) ops::kv_store(cache.store(il), &k[r * K], &v[r * V], &rs.pos[r], n);
        ops::attention(ctx, &q[r * Q], &rs.pos[r], n, cache.layer(il), shape, &rs.attn[r * O]);
    }
    if (gated) ops::sigmoid_mul(rs.attn.data(), rs.attn_gate.data(), T * O);
    ops::matmul(ctx, L.wo, rs.attn.data(), T, h);
    if (!L.bo.empty()) ops::add_bias(h, L.bo.data(), T, E);
    if (!L.post_attn_norm.empty()) ops::rmsnorm(h, L.post_attn_norm.data(), T, E, hp.norm_eps);
    ops::add(x, h, T * E);
}

void Model::ffn_block(ops::Context& ctx, int il, RunState& rs, int64_t T) const {
    const HParams& hp = hp_;
    const LayerWeights& L = w_.layers[il];
    const int64_t E = hp.n_embd, F = hp.geometry(il).n_ff;
    float *x = rs.x.data(), *h = rs.h.data();

    ops::rmsnorm(x, h, L.ffn_norm.data(), T, E, hp.norm_eps);
    const float* out = h;
    if (hp.is_moe()) {
        moe_ffn(ctx, L, rs, T);
        out = rs.moe_out.data();
    } else {
        float *gate = rs.gate.data(), *up = rs.up.data();
        if (L.w_gate.empty()) {  // fused (phi3): one matmul gives the gate rows, then the up rows
            ops::matmul(ctx, L.w_up, h, T, up);
            copy_columns(up, 2 * F, 0, F, T, gate);
            for (int64_t t = 0; t < T; ++t) std::copy_n(up + t * 2 * F + F, F, up + t * F);
        } else {
            ops::matmul(ctx, L.w_gate, h, T, gate);
            ops::matmul(ctx, L.w_up, h, T, up);
        }
        gated_activation(hp.spec().activation, gate, up, T * F);
        ops::matmul(ctx, L.w_down, gate, T, h);
    }
    if (!L.post_ffn_norm.empty()) {
        ops::rmsnorm(out, h, L.post_ffn_norm.data(), T, E, hp.norm_eps);
        out = h;
    }
    ops::add(x, out, T * E);
}

}  // namespace hearth
