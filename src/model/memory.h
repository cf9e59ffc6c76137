#pragma once
// What a session allocates besides the mapped weights, as functions of the hyperparameters.
// The engine sizes its buffers with these and `hearth fit` predicts with the same functions,
// so the prediction cannot drift from what is allocated (tests compare the two).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "model/hparams.h"
#include "ops/ops.h"
#include "tensor/types.h"

namespace hearth::memory {

// Bytes of the KV cache of `n_ctx` positions for one sequence: for every attention layer, n_ctx
// rows of keys (kv_width elements) and of values (v_width elements) in `type`'s block layout;
// layers that read another layer's KV (gemma4) add none.
// For a float type this is 2 × layers × ctx × kv_heads × head_dim × bytes per element. The
// recurrent layers of a hybrid keep no KV.
size_t kv_cache_bytes(const HParams& hp, int64_t n_ctx, const TypeTraits& type);
size_t kv_cache_bytes(const HParams& hp, int64_t n_ctx, ops::KvType type);

// The same bytes by kind of layer, for explaining them (`hearth fit`): kv_cache_bytes is the
// sum of these groups, so the explanation cannot disagree with what is allocated. Layers with
// their own KV are grouped by (window or global, KV heads, head sizes), in order of first use.
// A window layer keeps all n_ctx positions, like a global one: the cache is not cut to the
// window (attention reads only the window's rows, but every row stays allocated).
struct KvLayerGroup {
    bool window = false;  // sliding-window layers (HParams::uses_window)
    int n_layers = 0;     // layers of this kind that store KV
    int n_head_kv = 0, head_dim = 0, head_dim_v = 0;
    size_t bytes = 0;     // their KV for n_ctx positions of one sequence
};
struct KvBreakdown {
    std::vector<KvLayerGroup> groups;
    int n_sharing = 0;    // attention layers that read another layer's KV and store none
    int n_recurrent = 0;  // delta-net layers: no KV (their state is recurrent_state_bytes)
    size_t total() const;
};
KvBreakdown kv_cache_breakdown(const HParams& hp, int64_t n_ctx, const TypeTraits& type);
const TypeTraits& kv_type_traits(ops::KvType type);

// Bytes of one sequence's recurrent state (f32, independent of the context size): per delta-net
// layer the convolution's last conv_kernel − 1 inputs and each value head's d × d matrix. 0 for
// transformers.
size_t recurrent_state_bytes(const HParams& hp);
// Copies of the recurrent state a sequence keeps so that it can resume from an earlier prefix
// (kv_cache.h: a recurrent state cannot be cut back like a KV cache).
constexpr int kStateCheckpoints = 2;
// Everything a sequence's cache may hold: its KV cache plus the recurrent state and its
// checkpoints.
size_t sequence_cache_bytes(const HParams& hp, int64_t n_ctx, const TypeTraits& type);

// The per-token widths (floats) of the activation buffers the forward pass holds (RunState):
// the residual and normed rows, q/k/v and the attention output, the fused qkv row where the
// family has one, the FFN's gate and up rows (dense) or the router logits and one expert's
// gathered input, gate, up and output rows and the weighted sum of the experts (MoE).
struct ActivationWidths {
    int64_t x = 0, h = 0, q = 0, k = 0, v = 0, attn = 0, qkv = 0, gate = 0, up = 0;
    int64_t router = 0, expert_in = 0, expert_gate = 0, expert_up = 0, expert_out = 0, moe_out = 0;
    int64_t routing = 0;  // the routing tables (expert id, weight, row, weight: 20 bytes per choice), in floats
    int64_t shexp_scale = 0;  // the shared expert's sigmoid gate
    int64_t attn_gate = 0;    // gated attention's output gate
    // Delta-net: the convolution's output, the output gate z, the recurrence's output, and the
    // per-head write strength β and log-decay g.
    int64_t conv = 0, z = 0, delta = 0, beta = 0, decay = 0;
    // Per-layer embeddings (gemma4): every layer's input for the token, and one layer's gate.
    int64_t ple = 0, ple_gate = 0;
    int64_t total() const {
        return x + h + q + k + v + attn + qkv + gate + up + router + expert_in + expert_gate + expert_up + expert_out +
               moe_out + routing + shexp_scale + attn_gate + conv + z + delta + beta + decay + ple + ple_gate;
    }
};
ActivationWidths activation_widths(const HParams& hp);

// Activations Model::forward holds while it runs a batch of n_tokens: [T][width] floats of
// activation_widths, plus the positions.
size_t forward_activation_bytes(const HParams& hp, int64_t n_tokens);

// Per-thread scratch of the CPU kernels: quantized activations of a batch (at most ~1.13
// bytes per element: 8-bit codes and a scale per block) and attention scores (one row per
// query head of a KV group, n_ctx keys). An upper bound; both are grown on demand.
size_t kernel_scratch_bytes(const HParams& hp, int64_t n_tokens, int64_t n_ctx, int n_threads);

// Logits a session keeps: the evaluated chunk's rows and the returned rows (the last one, or
// every prompt token's with `all`), plus the sampler's candidate array (id, logit, prob).
size_t logits_bytes(const HParams& hp, int64_t n_batch, int64_t n_prompt_rows, bool all);

// Float copies of 1-D tensors the loader makes (norm weights, biases, sinks, rope frequency
// factors), from the architecture's manifest; `has_optional` says which optional tensors the
// model has (a file: those it holds).
size_t model_host_copy_bytes(const HParams& hp, const std::function<bool(const TensorInstance&)>& has_optional);

// Everything a session allocates for itself at context n_ctx and batch n_batch (logits of the
// last position only): the KV cache plus compute buffers.
struct SessionBytes {
    size_t kv_cache = 0;     // sequence_cache_bytes: KV and any recurrent state
    size_t activations = 0;  // forward_activation_bytes
    size_t scratch = 0;      // kernel_scratch_bytes
    size_t logits = 0;       // logits_bytes
    size_t compute() const { return activations + scratch + logits; }
    size_t total() const { return kv_cache + compute(); }
};
SessionBytes session_bytes(const HParams& hp, int64_t n_ctx, int64_t n_batch, const TypeTraits& kv_type,
                           int n_threads);

}  // namespace hearth::memory
