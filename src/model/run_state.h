#pragma once
// The activations of one forward pass, sized by memory::activation_widths (the accounting
// `hearth fit` predicts with). A thread keeps one and reuses it from call to call, so the
// forward pass does not allocate once it has seen its largest batch.
#include <cstdint>
#include <vector>

#include "model/hparams.h"
#include "model/memory.h"

namespace hearth {

struct RunState {
    // [T][width] each; widths from memory::activation_widths.
    std::vector<float> x, h, q, k, v, attn, qkv, gate, up;
    std::vector<float> router, expert_in, expert_gate, expert_up, expert_out, moe_out, shexp_scale;
    std::vector<float> attn_gate, conv, z, delta, beta, decay;
    std::vector<float> ple, ple_gate;  // per-layer embeddings: [T][n_layer][width], [T][width]
    std::vector<int32_t> pos;  // [T]
    // MoE routing of a batch: each token's chosen experts and weights ([T][n_expert_used]), then
    // the same assignments sorted by expert (expert_begin: [n_expert + 1] offsets into them).
    std::vector<int32_t> route_expert, expert_begin, expert_order;
    std::vector<float> route_weight;
    std::vector<int64_t> assign_row;
    std::vector<float> assign_weight;

    // Grows every buffer to hold a batch of n_tokens of this model (never shrinks).
    void reserve(const HParams& hp, int64_t n_tokens) {
        const memory::ActivationWidths w = memory::activation_widths(hp);
        auto grow = [n_tokens](std::vector<float>& b, int64_t width) {
            const auto n = static_cast<size_t>(n_tokens * width);
            if (b.size() < n) b.resize(n);
        };
        grow(x, w.x), grow(h, w.h), grow(q, w.q), grow(k, w.k), grow(v, w.v), grow(attn, w.attn);
        grow(qkv, w.qkv), grow(gate, w.gate), grow(up, w.up), grow(router, w.router);
        grow(expert_in, w.expert_in), grow(expert_gate, w.expert_gate), grow(expert_up, w.expert_up);
        grow(expert_out, w.expert_out), grow(moe_out, w.moe_out), grow(shexp_scale, w.shexp_scale);
        grow(attn_gate, w.attn_gate), grow(conv, w.conv), grow(z, w.z), grow(delta, w.delta), grow(beta, w.beta);
        grow(decay, w.decay), grow(ple, w.ple), grow(ple_gate, w.ple_gate);
        if (pos.size() < static_cast<size_t>(n_tokens)) pos.resize(static_cast<size_t>(n_tokens));
        const auto routes = static_cast<size_t>(n_tokens * hp.n_expert_used);
        if (route_expert.size() < routes) {
            route_expert.resize(routes), route_weight.resize(routes);
            assign_row.resize(routes), assign_weight.resize(routes);
        }
        expert_begin.resize(static_cast<size_t>(hp.n_expert) + 1);
        expert_order.resize(static_cast<size_t>(hp.n_expert));
    }
};

}  // namespace hearth
