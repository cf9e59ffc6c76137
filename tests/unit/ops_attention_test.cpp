// The SIMD attention kernels against the scalar reference, for F32 and F16 KV caches, several
// head layouts (grouped and not, head sizes that are not a multiple of the vector width,
// value heads of another size), batches at an offset into the cache, and 1..3 threads.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/thread_pool.h"
#include "ops/cpu/dispatch.h"
#include "ops/ops.h"
#include "tensor/fp16.h"

namespace hearth {
namespace {

using ops::CpuPath;

struct Case {
    int n_head, n_head_kv, head_dim, head_dim_v;
    int n_past, n_tokens, threads;
    int window = 0;      // sliding window (0: full causal)
    bool sinks = false;  // per-head sink logits
};

// A value as the cache holds it.
double ops_test_kv(ops::KvType type, float x) {
    return type == ops::KvType::F16 ? double{fp16_to_fp32(fp32_to_fp16(x))} : double{x};
}

void check_attention(const Case& c, ops::KvType kv_type, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t n_ctx = c.n_past + c.n_tokens;
    const int64_t k_width = static_cast<int64_t>(c.n_head_kv) * c.head_dim;
    const int64_t v_width = static_cast<int64_t>(c.n_head_kv) * c.head_dim_v;
    const size_t elem = ops::kv_type_bytes(kv_type);
    std::vector<uint8_t> kbuf(static_cast<size_t>(n_ctx * k_width) * elem), vbuf(static_cast<size_t>(n_ctx * v_width) * elem);
    ops::KvLayerView kv{kv_type, kbuf.data(), vbuf.data(), k_width, v_width};
    ops::KvLayerStore store{kv_type, kbuf.data(), vbuf.data(), k_width, v_width};
    // Fill the cache through kv_store, as the model does.
    std::vector<float> k(static_cast<size_t>(n_ctx * k_width)), v(static_cast<size_t>(n_ctx * v_width));
    for (auto& x : k) x = normal(rng);
    for (auto& x : v) x = normal(rng);
    std::vector<int32_t> all_pos(static_cast<size_t>(n_ctx));
    for (int64_t p = 0; p < n_ctx; ++p) all_pos[p] = static_cast<int32_t>(p);
    ops::kv_store(store, k.data(), v.data(), all_pos.data(), n_ctx);

    std::vector<float> q(static_cast<size_t>(c.n_tokens) * c.n_head * c.head_dim);
    for (auto& x : q) x = 2.0f * normal(rng);
    const int32_t* positions = all_pos.data() + c.n_past;
    ops::AttentionShape shape{c.n_head, c.n_head_kv, c.head_dim, c.head_dim_v,
                              1.0f / std::sqrt(static_cast<float>(c.head_dim))};
    std::vector<float> sinks(static_cast<size_t>(c.n_head));
    for (auto& x : sinks) x = normal(rng);
    shape.window = c.window;
    shape.sinks = c.sinks ? sinks.data() : nullptr;
    ThreadPool pool(c.threads);
    ops::Context ctx{&pool};
    const size_t out_size = static_cast<size_t>(c.n_tokens) * c.n_head * c.head_dim_v;

    const CpuPath saved = ops::active_cpu_path();
    ops::set_cpu_path(CpuPath::Scalar);
    std::vector<float> ref(out_size);
    ops::attention(ctx, q.data(), positions, c.n_tokens, kv, shape, ref.data());
    // The reference itself against the definition, in double: softmax over the keys in the
    // window (plus the sink in the denominator), weighted sum of values.
    const int group = c.n_head / c.n_head_kv;
    for (int t = 0; t < c.n_tokens; ++t) {
        const int64_t pos = positions[t];
        const int64_t first = c.window > 0 ? std::max<int64_t>(0, pos - c.window + 1) : 0;
        for (int h = 0; h < c.n_head; ++h) {
            const int kvh = h / group;
            std::vector<double> w;
            double max = c.sinks ? sinks[h] : -1e300;
            for (int64_t p = first; p <= pos; ++p) {
                double d = 0;
                for (int i = 0; i < c.head_dim; ++i)
                    d += double{q[(t * c.n_head + h) * c.head_dim + i]} * ops_test_kv(kv_type, k[p * k_width + kvh * c.head_dim + i]);
                w.push_back(d * shape.scale);
                max = std::max(max, w.back());
            }
            double sum = c.sinks ? std::exp(sinks[h] - max) : 0;
            for (double& x : w) sum += (x = std::exp(x - max));
            for (int i = 0; i < c.head_dim_v; ++i) {
                double o = 0;
                for (int64_t p = first; p <= pos; ++p)
                    o += w[p - first] / sum * ops_test_kv(kv_type, v[p * v_width + kvh * c.head_dim_v + i]);
                EXPECT_NEAR(ref[(t * c.n_head + h) * c.head_dim_v + i], o, 2e-5) << "token " << t << " head " << h;
            }
        }
    }
    for (CpuPath path : ops::supported_cpu_paths()) {
        if (path == CpuPath::Scalar) continue;
        SCOPED_TRACE(std::string(ops::cpu_path_name(path)) + " kv " + ops::kv_type_name(kv_type) + " heads " +
                     std::to_string(c.n_head) + "/" + std::to_string(c.n_head_kv) + " dims " +
                     std::to_string(c.head_dim) + "/" + std::to_string(c.head_dim_v) + " past " +
                     std::to_string(c.n_past) + " tokens " + std::to_string(c.n_tokens));
        ops::set_cpu_path(path);
        std::vector<float> got(out_size, std::nanf(""));
        ops::attention(ctx, q.data(), positions, c.n_tokens, kv, shape, got.data());
        int failures = 0;
        for (size_t i = 0; i < out_size && failures < 5; ++i) {
            // Outputs are convex combinations of values of magnitude ~1.
            if (!(std::fabs(got[i] - ref[i]) <= 2e-5f)) {
                ++failures;
                ADD_FAILURE() << "output " << i << ": got " << got[i] << ", reference " << ref[i];
            }
        }
    }
    ops::set_cpu_path(saved);
}

TEST(OpsAttention, SimdMatchesScalarReference) {
    const std::vector<Case> cases = {
        {8, 2, 64, 64, 0, 1, 1},   {8, 2, 64, 64, 5, 9, 2},     {6, 6, 32, 32, 0, 7, 3},
        {9, 3, 80, 80, 3, 4, 2},   {4, 1, 100, 100, 0, 5, 1},   {8, 4, 128, 128, 17, 3, 2},
        {16, 2, 64, 48, 2, 6, 3},  {12, 12, 20, 20, 0, 3, 1},   {8, 8, 7, 9, 1, 2, 2},
        {32, 8, 64, 64, 203, 2, 2}, {8, 1, 128, 128, 61, 1, 1},
        // Sliding windows (shorter and longer than the context) and attention sinks.
        {8, 2, 32, 32, 20, 9, 2, 16, false}, {4, 1, 32, 32, 0, 40, 2, 16, false}, {8, 2, 64, 64, 3, 5, 1, 100, false},
        {8, 2, 32, 32, 10, 7, 2, 0, true},   {8, 2, 32, 32, 30, 9, 3, 16, true},  {6, 3, 20, 20, 0, 1, 1, 1, true},
    };
    uint32_t seed = 1;
    for (const Case& c : cases)
        for (auto kv : {ops::KvType::F32, ops::KvType::F16}) check_attention(c, kv, seed++);
}

}  // namespace
}  // namespace hearth
