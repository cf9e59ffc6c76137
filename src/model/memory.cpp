#include "model/memory.h"

#include <algorithm>

namespace hearth::memory {

size_t kv_cache_bytes(const HParams& hp, int64_t n_ctx, const TypeTraits& type) {
    if (n_ctx <= 0) return 0;
    // Block types (q8_0, q4_0 caches of other runtimes) store whole blocks per row.
    auto row = [&](int64_t width) {
        const int64_t blocks = (width + type.block_size - 1) / type.block_size;
        return static_cast<size_t>(blocks) * type.block_bytes;
    };
    return static_cast<size_t>(n_ctx) * static_cast<size_t>(hp.n_layer) * (row(hp.kv_width()) + row(hp.v_width()));
}

const TypeTraits& kv_type_traits(ops::KvType type) {
    return type_traits(type == ops::KvType::F32 ? TensorType::F32 : TensorType::F16);
}

size_t kv_cache_bytes(const HParams& hp, int64_t n_ctx, ops::KvType type) {
    return kv_cache_bytes(hp, n_ctx, kv_type_traits(type));
}

size_t forward_activation_bytes(const HParams& hp, int64_t n_tokens) {
    const int64_t attn_out = static_cast<int64_t>(hp.n_head) * hp.head_dim_v;
    const int64_t floats = 2 * static_cast<int64_t>(hp.n_embd) + hp.q_width() + hp.kv_width() + hp.v_width() +
                           attn_out + 2 * static_cast<int64_t>(hp.n_ff);
    return static_cast<size_t>(n_tokens) * (static_cast<size_t>(floats) * sizeof(float) + sizeof(int32_t));
}

size_t kernel_scratch_bytes(const HParams& hp, int64_t n_tokens, int64_t n_ctx, int n_threads) {
    const int64_t widest = std::max<int64_t>({hp.n_embd, hp.n_ff, hp.q_width()});
    // 8-bit codes plus a float scale and sum per 32-element block, rounded up as the kernels
    // grow the buffer (doubling).
    const size_t act = static_cast<size_t>(n_tokens * widest) * 9 / 8;
    const int group = hp.n_head_kv > 0 ? hp.n_head / hp.n_head_kv : 1;
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

size_t model_host_copy_bytes(const HParams& hp, bool has_rope_freqs) {
    size_t floats = static_cast<size_t>(hp.n_embd);  // output_norm
    size_t per_layer = 2 * static_cast<size_t>(hp.n_embd);
    if (hp.has_qkv_bias) per_layer += static_cast<size_t>(hp.q_width() + hp.kv_width() + hp.v_width());
    if (hp.has_qk_norm) per_layer += 2 * static_cast<size_t>(hp.head_dim);
    floats += per_layer * static_cast<size_t>(hp.n_layer);
    if (has_rope_freqs) floats += static_cast<size_t>(hp.rope.n_rot / 2);
    return floats * sizeof(float);
}

SessionBytes session_bytes(const HParams& hp, int64_t n_ctx, int64_t n_batch, const TypeTraits& kv_type,
                           int n_threads) {
    SessionBytes b;
    b.kv_cache = kv_cache_bytes(hp, n_ctx, kv_type);
    b.activations = forward_activation_bytes(hp, n_batch);
    b.scratch = kernel_scratch_bytes(hp, n_batch, n_ctx, n_threads);
    b.logits = logits_bytes(hp, n_batch, 1, false);
    return b;
}

}  // namespace hearth::memory
