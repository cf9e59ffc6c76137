// Per-layer embeddings (Gemma 4 E2B/E4B). Besides its ordinary embedding, every token has a
// small embedding for each layer (a row of per_layer_token_embd holds all of them), which is
// mixed with a projection of the token's scaled embedding:
//   p[l] = (rmsnorm(model_proj·x0 / √n_embd)[l] + √w · row[l]) / √2        (w = per-layer width)
// and after each layer's FFN:
//   x += rmsnorm(proj(gelu(inp_gate·x) ⊙ p[l]), post_norm)
#include <cmath>
#include <vector>

#include "model/model.h"
#include "model/run_state.h"

namespace hearth {

void Model::per_layer_inputs(ops::Context& ctx, std::span<const SequenceBatch> seqs, RunState& rs, int64_t T) const {
    const HParams& hp = hp_;
    const int64_t W = hp.n_embd_per_layer, all = W * hp.n_layer;
    float* ple = rs.ple.data();
    ops::matmul(ctx, w_.ple_model_proj, rs.x.data(), T, ple);
    ops::scale(ple, 1.0f / std::sqrt(static_cast<float>(hp.n_embd)), T * all);
    ops::rmsnorm(ple, w_.ple_proj_norm.data(), T * hp.n_layer, W, hp.norm_eps);

    // Grown once per thread, like the RunState: this runs for every batch.
    thread_local std::vector<float> row;
    if (row.size() < static_cast<size_t>(all)) row.resize(static_cast<size_t>(all));
    const float row_scale = std::sqrt(static_cast<float>(W));
    const float mix_scale = 1.0f / std::sqrt(2.0f);
    int64_t t = 0;
    for (const SequenceBatch& s : seqs)
        for (int32_t tok : s.tokens) {
            ops::get_row(w_.ple_token_embd, tok, row.data());
            float* p = ple + t * all;
            for (int64_t i = 0; i < all; ++i) p[i] = (p[i] + row[i] * row_scale) * mix_scale;
            ++t;
        }
}

void Model::per_layer_block(ops::Context& ctx, int il, RunState& rs, int64_t T) const {
    const HParams& hp = hp_;
    const LayerWeights& L = w_.layers[il];
    const int64_t E = hp.n_embd, W = hp.n_embd_per_layer, all = W * hp.n_layer;
    float *gate = rs.ple_gate.data(), *h = rs.h.data();
    ops::matmul(ctx, L.ple_gate, rs.x.data(), T, gate);
    for (int64_t t = 0; t < T; ++t) ops::gelu_tanh_mul(gate + t * W, rs.ple.data() + t * all + il * W, W);
    ops::matmul(ctx, L.ple_proj, gate, T, h);
    ops::rmsnorm(h, L.ple_post_norm.data(), T, E, hp.norm_eps);
    ops::add(rs.x.data(), h, T * E);
}

}  // namespace hearth
