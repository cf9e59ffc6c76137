// Causal grouped-query attention over the KV cache.
//  - reference (scalar path): one (token, head) pair per work item, exact float code.
//  - SIMD paths: one (token, KV head) pair per work item, so each cache row is read once for
//    all the query heads that share it; the dot products and the weighted sum of values are
//    the kernels of ops/cpu/attention_*.cpp.
#include <algorithm>
#include <vector>

#include "ops/cpu/kernels.h"
#include "ops/cpu/vec.h"
#include "ops/ops.h"
#include "tensor/fp16.h"

namespace hearth::ops {

const char* kv_type_name(KvType t) { return t == KvType::F16 ? "f16" : "f32"; }
size_t kv_type_bytes(KvType t) { return t == KvType::F16 ? 2 : 4; }

void kv_store(const KvLayerStore& kv, const float* k, const float* v, const int32_t* positions,
              int64_t n_tokens) {
    for (int64_t t = 0; t < n_tokens; ++t) {
        const int64_t pos = positions[t];
        if (kv.type == KvType::F32) {
            auto* kd = static_cast<float*>(kv.k) + pos * kv.k_width;
            auto* vd = static_cast<float*>(kv.v) + pos * kv.v_width;
            for (int64_t i = 0; i < kv.k_width; ++i) kd[i] = k[t * kv.k_width + i];
            for (int64_t i = 0; i < kv.v_width; ++i) vd[i] = v[t * kv.v_width + i];
        } else {
            auto* kd = static_cast<uint16_t*>(kv.k) + pos * kv.k_width;
            auto* vd = static_cast<uint16_t*>(kv.v) + pos * kv.v_width;
            for (int64_t i = 0; i < kv.k_width; ++i) kd[i] = fp32_to_fp16(k[t * kv.k_width + i]);
            for (int64_t i = 0; i < kv.v_width; ++i) vd[i] = fp32_to_fp16(v[t * kv.v_width + i]);
        }
    }
}

namespace {

// Reads `n` cache values starting at element `offset` as floats.
inline void load_row(KvType type, const void* base, int64_t offset, int n, float* out) {
    if (type == KvType::F32) {
        const float* p = static_cast<const float*>(base) + offset;
        for (int i = 0; i < n; ++i) out[i] = p[i];
    } else {
        const uint16_t* p = static_cast<const uint16_t*>(base) + offset;
        for (int i = 0; i < n; ++i) out[i] = fp16_to_fp32(p[i]);
    }
}

// The cache positions a query at `pos` attends to.
struct KeyRange {
    int64_t first, n;
};
KeyRange key_range(int32_t pos, int window) {
    const int64_t first = window > 0 ? std::max<int64_t>(0, int64_t{pos} - window + 1) : 0;
    return {first, int64_t{pos} + 1 - first};
}

// Scores of query head h → attention weights.
void normalize(float* scores, int64_t n, const float* sinks, int h) {
    if (sinks) softmax_with_sink(scores, n, sinks[h]);
    else softmax(scores, n);
}

void attention_reference(Context& ctx, const float* q, const int32_t* positions, int64_t n_tokens,
                         const KvLayerView& kv, const AttentionShape& s, float* out) {
    const int group = s.n_head / s.n_head_kv;
    auto work = [&](int64_t i0, int64_t i1) {
        std::vector<float> scores;
        std::vector<float> row(static_cast<size_t>(std::max(s.head_dim, s.head_dim_v)));
        std::vector<float> acc(static_cast<size_t>(s.head_dim_v));
        for (int64_t item = i0; item < i1; ++item) {
            const int64_t t = item / s.n_head;
            const int h = static_cast<int>(item % s.n_head);
            const int kvh = h / group;
            const KeyRange keys = key_range(positions[t], s.window);
            const float* qh = q + (t * s.n_head + h) * static_cast<int64_t>(s.head_dim);
            scores.resize(static_cast<size_t>(keys.n));
            for (int64_t j = 0; j < keys.n; ++j) {
                const int64_t p = keys.first + j;
                load_row(kv.type, kv.k, p * kv.k_width + kvh * s.head_dim, s.head_dim, row.data());
                scores[j] = dot_f32(qh, row.data(), s.head_dim) * s.scale;
            }
            normalize(scores.data(), keys.n, s.sinks, h);
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (int64_t j = 0; j < keys.n; ++j) {
                const int64_t p = keys.first + j;
                const float w = scores[j];
                load_row(kv.type, kv.v, p * kv.v_width + kvh * s.head_dim_v, s.head_dim_v, row.data());
                for (int i = 0; i < s.head_dim_v; ++i) acc[i] += w * row[i];
            }
            float* o = out + (t * s.n_head + h) * static_cast<int64_t>(s.head_dim_v);
            for (int i = 0; i < s.head_dim_v; ++i) o[i] = acc[i];
        }
    };
    const int64_t items = n_tokens * s.n_head;
    if (ctx.pool) ctx.pool->parallel_for(items, work, 1);
    else work(0, items);
}

}  // namespace

void attention(Context& ctx, const float* q, const int32_t* positions, int64_t n_tokens, const KvLayerView& kv,
               const AttentionShape& s, float* out) {
    const cpu::KernelTable* table = cpu::active_kernel_table();
    const bool f16 = kv.type == KvType::F16;
    const cpu::AttnScoresFn scores_fn = table ? (f16 ? table->attn_scores_f16 : table->attn_scores_f32) : nullptr;
    const cpu::AttnValuesFn values_fn = table ? (f16 ? table->attn_values_f16 : table->attn_values_f32) : nullptr;
    if (!scores_fn || !values_fn) {
        attention_reference(ctx, q, positions, n_tokens, kv, s, out);
        return;
    }
    const int group = s.n_head / s.n_head_kv;
    const size_t elem = kv_type_bytes(kv.type);
    auto work = [&](int64_t i0, int64_t i1) {
        std::vector<float> scores;
        for (int64_t item = i0; item < i1; ++item) {
            const int64_t t = item / s.n_head_kv;
            const int g = static_cast<int>(item % s.n_head_kv);
            const KeyRange keys = key_range(positions[t], s.window);
            const int64_t n_keys = keys.n;
            const int64_t first_head = t * s.n_head + static_cast<int64_t>(g) * group;
            scores.resize(static_cast<size_t>(group * n_keys));
            const auto* k = static_cast<const uint8_t*>(kv.k) +
                            (static_cast<size_t>(keys.first) * kv.k_width + static_cast<size_t>(g) * s.head_dim) * elem;
            const auto* v = static_cast<const uint8_t*>(kv.v) +
                            (static_cast<size_t>(keys.first) * kv.v_width + static_cast<size_t>(g) * s.head_dim_v) * elem;
            scores_fn(q + first_head * s.head_dim, group, s.head_dim, k, kv.k_width, n_keys, s.scale, scores.data());
            for (int h = 0; h < group; ++h)
                normalize(scores.data() + h * n_keys, n_keys, s.sinks, g * group + h);
            values_fn(scores.data(), group, n_keys, v, kv.v_width, s.head_dim_v, out + first_head * s.head_dim_v);
        }
    };
    const int64_t items = n_tokens * s.n_head_kv;
    if (ctx.pool) ctx.pool->parallel_for(items, work, 1);
    else work(0, items);
}

}  // namespace hearth::ops
