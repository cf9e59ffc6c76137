// The mixture-of-experts FFN. Every token's router picks n_expert_used experts with weights;
// then the batch is regrouped by expert, so each chosen expert's matrices are read once per
// batch (prompt processing and continuous batching), not once per token, and a decoded token
// reads only its own experts' weights.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "model/activation.h"
#include "model/model.h"
#include "model/run_state.h"

namespace hearth {
namespace {

struct Choice {
    int expert;
    float weight;
};
struct Assignment {  // one token row routed to an expert
    int64_t row;
    float weight;
};

// The top-k experts of one token's router logits and their weights (arch.h: softmax over the
// chosen k). Ties go to the lower expert id, so runs are reproducible.
void route(const float* logits, int n_expert, int k, std::vector<int>& order, Choice* out) {
    order.resize(static_cast<size_t>(n_expert));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [logits](int a, int b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    const float max = logits[order[0]];
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += std::exp(static_cast<double>(logits[order[j]] - max));
    for (int j = 0; j < k; ++j)
        out[j] = {order[j], static_cast<float>(std::exp(static_cast<double>(logits[order[j]] - max)) / sum)};
}

}  // namespace

void Model::moe_ffn(ops::Context& ctx, const LayerWeights& L, RunState& rs, int64_t T) const {
    const HParams& hp = hp_;
    const int64_t E = hp.n_embd, F = hp.n_ff_exp;
    const int n_expert = hp.n_expert, k = hp.n_expert_used;
    const ArchSpec& arch = hp.spec();

    // Router logits in f32 for every token: [T][n_expert].
    ops::matmul(ctx, L.router, rs.h.data(), T, rs.router.data());
    if (!L.router_bias.empty()) ops::add_bias(rs.router.data(), L.router_bias.data(), T, n_expert);
    std::vector<Choice> choices(static_cast<size_t>(T * k));
    std::vector<int> order;
    for (int64_t t = 0; t < T; ++t)
        route(&rs.router[t * n_expert], n_expert, k, order, &choices[t * k]);

    // The tokens of each expert, as (row, weight).
    std::vector<std::vector<Assignment>> by_expert(static_cast<size_t>(n_expert));
    for (int64_t t = 0; t < T; ++t)
        for (int j = 0; j < k; ++j) {
            const Choice& c = choices[t * k + j];
            by_expert[static_cast<size_t>(c.expert)].push_back({t, c.weight});
        }

    std::fill_n(rs.moe_out.data(), T * E, 0.0f);
    for (int e = 0; e < n_expert; ++e) {
        const std::vector<Assignment>& rows = by_expert[static_cast<size_t>(e)];
        if (rows.empty()) continue;
        const auto m = static_cast<int64_t>(rows.size());
        float *in = rs.expert_in.data(), *gate = rs.expert_gate.data(), *up = rs.expert_up.data(),
              *y = rs.expert_out.data();
        for (int64_t i = 0; i < m; ++i) std::copy_n(&rs.h[rows[i].row * E], E, in + i * E);
        ops::matmul(ctx, L.gate_exps[e], in, m, gate);
        ops::matmul(ctx, L.up_exps[e], in, m, up);
        if (!L.gate_exps_bias.empty()) ops::add_bias(gate, &L.gate_exps_bias[e * F], m, F);
        if (!L.up_exps_bias.empty()) ops::add_bias(up, &L.up_exps_bias[e * F], m, F);
        gated_activation(arch.activation, gate, up, m * F);
        ops::matmul(ctx, L.down_exps[e], gate, m, y);
        if (!L.down_exps_bias.empty()) ops::add_bias(y, &L.down_exps_bias[e * E], m, E);
        for (int64_t i = 0; i < m; ++i) {
            float* dst = &rs.moe_out[rows[i].row * E];
            const float w = rows[i].weight;
            for (int64_t c = 0; c < E; ++c) dst[c] += w * y[i * E + c];
        }
    }
}

}  // namespace hearth
