// The mixture-of-experts FFN. Every token's router picks n_expert_used experts with weights;
// then the batch is regrouped by expert, so each chosen expert's matrices are read once per
// batch (prompt processing and continuous batching), not once per token, and a decoded token
// reads only its own experts' weights. A shared expert, where the family has one, runs for every
// token next to the routed ones.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "model/activation.h"
#include "model/model.h"
#include "model/run_state.h"

namespace hearth {
namespace {

// The top-k experts of one token's router logits and their weights (arch.h: softmax over the
// chosen k). Ties go to the lower expert id, so runs are reproducible.
void route(const float* logits, int n_expert, int k, int32_t* order, int32_t* expert, float* weight) {
    std::iota(order, order + n_expert, 0);
    std::partial_sort(order, order + k, order + n_expert, [logits](int a, int b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    const float max = logits[order[0]];
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += std::exp(static_cast<double>(logits[order[j]] - max));
    for (int j = 0; j < k; ++j) {
        expert[j] = order[j];
        weight[j] = static_cast<float>(std::exp(static_cast<double>(logits[order[j]] - max)) / sum);
    }
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
    for (int64_t t = 0; t < T; ++t)
        route(&rs.router[t * n_expert], n_expert, k, rs.expert_order.data(), &rs.route_expert[t * k],
              &rs.route_weight[t * k]);

    // The same assignments grouped by expert (a counting sort: token order kept within an expert).
    int32_t* begin = rs.expert_begin.data();
    std::fill_n(begin, n_expert + 1, 0);
    for (int64_t i = 0; i < T * k; ++i) ++begin[rs.route_expert[i] + 1];
    for (int e = 0; e < n_expert; ++e) begin[e + 1] += begin[e];
    std::copy_n(begin, n_expert, rs.expert_order.data());  // next free slot per expert
    for (int64_t i = 0; i < T * k; ++i) {
        const int32_t slot = rs.expert_order[rs.route_expert[i]]++;
        rs.assign_row[slot] = i / k;
        rs.assign_weight[slot] = rs.route_weight[i];
    }

    std::fill_n(rs.moe_out.data(), T * E, 0.0f);
    for (int e = 0; e < n_expert; ++e) {
        const int64_t first = begin[e], m = begin[e + 1] - begin[e];
        if (m == 0) continue;
        const int64_t* rows = &rs.assign_row[first];
        const float* weights = &rs.assign_weight[first];
        float *in = rs.expert_in.data(), *gate = rs.expert_gate.data(), *up = rs.expert_up.data(),
              *y = rs.expert_out.data();
        for (int64_t i = 0; i < m; ++i) std::copy_n(&rs.h[rows[i] * E], E, in + i * E);
        ops::matmul(ctx, L.gate_exps[e], in, m, gate);
        ops::matmul(ctx, L.up_exps[e], in, m, up);
        if (!L.gate_exps_bias.empty()) ops::add_bias(gate, &L.gate_exps_bias[e * F], m, F);
        if (!L.up_exps_bias.empty()) ops::add_bias(up, &L.up_exps_bias[e * F], m, F);
        gated_activation(arch.activation, gate, up, m * F);
        ops::matmul(ctx, L.down_exps[e], gate, m, y);
        if (!L.down_exps_bias.empty()) ops::add_bias(y, &L.down_exps_bias[e * E], m, E);
        for (int64_t i = 0; i < m; ++i) {
            float* dst = &rs.moe_out[rows[i] * E];
            const float w = weights[i];
            for (int64_t c = 0; c < E; ++c) dst[c] += w * y[i * E + c];
        }
    }

    // The shared expert (qwen35moe) runs for every token, scaled by σ(shexp_gate·h).
    if (!L.gate_shexp.empty()) {
        const int64_t Fs = hp.n_ff_shexp;
        float *gate = rs.gate.data(), *up = rs.up.data(), *y = rs.expert_out.data();
        ops::matmul(ctx, L.gate_shexp, rs.h.data(), T, gate);
        ops::matmul(ctx, L.up_shexp, rs.h.data(), T, up);
        gated_activation(arch.activation, gate, up, T * Fs);
        ops::matmul(ctx, L.down_shexp, gate, T, y);
        for (int64_t t = 0; t < T; ++t) {
            double dot = 0;
            for (int64_t c = 0; c < E; ++c) dot += static_cast<double>(L.shexp_gate[c]) * rs.h[t * E + c];
            const float scale = static_cast<float>(1.0 / (1.0 + std::exp(-dot)));
            float* dst = &rs.moe_out[t * E];
            for (int64_t c = 0; c < E; ++c) dst[c] += scale * y[t * E + c];
        }
    }
}

}  // namespace hearth
