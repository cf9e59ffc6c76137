#include "model/memory.h"

#include <algorithm>
#include <iterator>

namespace hearth::memory {

size_t KvBreakdown::total() const {
    size_t sum = 0;
    for (const KvLayerGroup& g : groups) sum += g.bytes;
    return sum;
}

KvBreakdown kv_cache_breakdown(const HParams& hp, int64_t n_ctx, const TypeTraits& type) {
    KvBreakdown b;
    const size_t positions = static_cast<size_t>(std::max<int64_t>(n_ctx, 0));
    // Block types (q8_0, q4_0 caches of other runtimes) store whole blocks per row.
    auto row = [&](int64_t width) {
        const int64_t blocks = (width + type.block_size - 1) / type.block_size;
        return static_cast<size_t>(blocks) * type.block_bytes;
    };
    for (int il = 0; il < hp.n_layer; ++il) {
        if (hp.layer_kind(il) == LayerKind::Recurrent) {
            ++b.n_recurrent;
            continue;
        }
        if (!hp.has_own_kv(il)) {
            ++b.n_sharing;
            continue;
        }
        const LayerGeometry g = hp.geometry(il);
        const bool window = hp.uses_window(il);
        auto same = [&](const KvLayerGroup& k) {
            return k.window == window && k.n_head_kv == g.n_head_kv && k.head_dim == g.head_dim &&
                   k.head_dim_v == g.head_dim_v;
        };
        auto it = std::find_if(b.groups.begin(), b.groups.end(), same);
        if (it == b.groups.end()) {
            b.groups.push_back(KvLayerGroup{.window = window, .n_head_kv = g.n_head_kv, .head_dim = g.head_dim,
                                            .head_dim_v = g.head_dim_v});
            it = std::prev(b.groups.end());
        }
        it->n_layers++;
        it->bytes += positions * (row(g.kv_width()) + row(g.v_width()));
    }
    return b;
}

size_t kv_cache_bytes(const HParams& hp, int64_t n_ctx, const TypeTraits& type) {
    return kv_cache_breakdown(hp, n_ctx, type).total();
}

size_t recurrent_state_bytes(const HParams& hp) {
    const int n_recurrent = hp.n_layer - hp.n_attention_layers();
    if (n_recurrent == 0) return 0;
    const DeltaNetParams& s = hp.ssm;
    const int64_t per_layer = int64_t{s.conv_kernel - 1} * s.conv_channels() +
                              int64_t{s.n_v_heads} * s.state_size * s.state_size;
    return static_cast<size_t>(n_recurrent) * static_cast<size_t>(per_layer) * sizeof(float);
}

size_t sequence_cache_bytes(const HParams& hp, int64_t n_ctx, const TypeTraits& type) {
    return kv_cache_bytes(hp, n_ctx, type) + (1 + kStateCheckpoints) * recurrent_state_bytes(hp);
}

const TypeTraits& kv_type_traits(ops::KvType type) {
    return type_traits(type == ops::KvType::F32 ? TensorType::F32 : TensorType::F16);
}

size_t kv_cache_bytes(const HParams& hp, int64_t n_ctx, ops::KvType type) {
    return kv_cache_bytes(hp, n_ctx, kv_type_traits(type));
}

ActivationWidths activation_widths(const HParams& hp) {
    ActivationWidths w;
    const LayerGeometry widest = hp.max_geometry();  // one set of buffers serves every layer
    w.x = w.h = hp.n_embd;
    w.q = widest.q_width();
    w.k = widest.kv_width();
    w.v = widest.v_width();
    w.attn = widest.attn_out_width();
    w.ple = int64_t{hp.n_embd_per_layer} * hp.n_layer;
    w.ple_gate = hp.n_embd_per_layer;
    const ArchSpec* a = hp.arch;
    const auto has = [a](TensorGroup g) { return a && a->has(g); };
    if (has(TensorGroup::AttnFused)) w.qkv = w.q + w.k + w.v;
    if (has(TensorGroup::AttnGatedQ)) {  // the projection [q | gate] per head goes through qkv
        w.qkv = 2 * w.q;
        w.attn_gate = w.q;
    }
    if (hp.is_hybrid()) {  // the delta-net's projection goes through qkv too
        w.qkv = std::max<int64_t>(w.qkv, hp.ssm.conv_channels());
        w.conv = hp.ssm.conv_channels();
        w.z = w.delta = hp.ssm.inner();
        w.beta = w.decay = hp.ssm.n_v_heads;
    }
    if (hp.is_moe()) {
        w.router = hp.n_expert;
        w.expert_in = w.expert_out = w.moe_out = hp.n_embd;
        w.expert_gate = w.expert_up = hp.n_ff_exp;
        w.routing = 5 * int64_t{hp.n_expert_used};
        w.gate = w.up = hp.n_ff_shexp;  // the shared expert, where there is one
        w.shexp_scale = hp.n_ff_shexp > 0 ? 1 : 0;
    } else {
        w.gate = widest.n_ff;
        w.up = has(TensorGroup::FfnFusedUp) ? 2 * int64_t{widest.n_ff} : widest.n_ff;
    }
    return w;
}

size_t forward_activation_bytes(const HParams& hp, int64_t n_tokens) {
    return static_cast<size_t>(n_tokens) *
           (static_cast<size_t>(activation_widths(hp).total()) * sizeof(float) + sizeof(int32_t));
}

size_t kernel_scratch_bytes(const HParams& hp, int64_t n_tokens, int64_t n_ctx, int n_threads) {
    const LayerGeometry g = hp.max_geometry();
    const int64_t widest = std::max<int64_t>({hp.n_embd, g.n_ff, hp.n_ff_exp, hp.n_ff_shexp, g.q_width(),
                                              g.attn_out_width(), hp.ssm.inner(), hp.n_embd_per_layer});
    // 8-bit codes plus a float scale and sum per 32-element block, rounded up as the kernels
    // grow the buffer (doubling).
    const size_t act = static_cast<size_t>(n_tokens * widest) * 9 / 8;
    int group = 1;  // query heads per KV head, the most of any layer
    for (int il = 0; il < hp.n_layer; ++il)
        if (const int kv = hp.geometry(il).n_head_kv; kv > 0) group = std::max(group, hp.n_head / kv);
    const size_t scores = static_cast<size_t>(group) * static_cast<size_t>(n_ctx) * sizeof(float);
    return act + static_cast<size_t>(std::max(n_threads, 1)) * scores;
}

size_t logits_bytes(const HParams& hp, int64_t n_batch, int64_t n_prompt_rows, bool all) {
    const size_t row = static_cast<size_t>(hp.n_vocab) * sizeof(float);
    const size_t chunk = row * static_cast<size_t>(all ? n_batch : 1);
    const size_t kept = row * static_cast<size_t>(all ? n_prompt_rows : 1);
    const size_t candidates = static_cast<size_t>(hp.n_vocab) * 12;  // id + logit + probability
    return chunk + kept + candidates;
}

size_t model_host_copy_bytes(const HParams& hp, const std::function<bool(const TensorInstance&)>& has_optional) {
    if (!hp.arch)  // a family hearth cannot run: its norms, as a llama would have them
        return (static_cast<size_t>(hp.n_embd) * (1 + 2 * static_cast<size_t>(hp.n_layer))) * sizeof(float);
    size_t floats = 0;
    for (const TensorInstance& t : expand_manifest(hp, has_optional))
        if (t.spec->kind == TensorKind::Vector || t.spec->kind == TensorKind::ExpertVectors ||
            t.spec->kind == TensorKind::FloatTable)
            floats += static_cast<size_t>(t.n_elements());
    return floats * sizeof(float);
}

SessionBytes session_bytes(const HParams& hp, int64_t n_ctx, int64_t n_batch, const TypeTraits& kv_type,
                           int n_threads) {
    SessionBytes b;
    b.kv_cache = sequence_cache_bytes(hp, n_ctx, kv_type);
    b.activations = forward_activation_bytes(hp, n_batch);
    b.scratch = kernel_scratch_bytes(hp, n_batch, n_ctx, n_threads);
    b.logits = logits_bytes(hp, n_batch, 1, false);
    return b;
}

}  // namespace hearth::memory
