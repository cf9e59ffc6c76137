// Hybrid models (qwen35: gated delta-net layers with attention every 4th) carry a recurrent
// state next to the KV cache. These tests pin down what that changes: the state only has room
// for the delta-net layers' shapes, a prompt gives the same logits in one batch, in chunks and
// token by token (the recurrence is exact under any split), and a session rewound to an earlier
// position resumes from a checkpoint or from the start, never from a state that saw more.
#include <algorithm>
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/thread_pool.h"
#include "engine/loader.h"
#include "engine/session.h"
#include "model/memory.h"
#include "ops/cpu/dispatch.h"
#include "scoped_cpu_path.h"
#include "test_support.h"

namespace hearth {
namespace {

using nlohmann::json;

std::vector<int32_t> golden_tokens(const std::string& model) {
    const json tj = json::parse(test::read_file(test::shared_path("golden/arch/" + model + ".tokens.json")));
    return tj["tokens"].get<std::vector<int32_t>>();
}

double max_abs_diff(const float* a, const float* b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
    return m;
}

std::vector<float> eval_all(const Model& model, const std::vector<int32_t>& tokens, int n_batch) {
    SessionOptions opt;
    opt.n_ctx = 256;
    opt.kv_type = ops::KvType::F32;
    opt.n_batch = n_batch;
    Session session(model, opt);
    return session.eval(tokens, LogitsFor::All);
}

TEST(HybridState, LayerKindsAndStateSizeFollowTheFile) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-qwen35-256-F32.gguf");
    LoadedModel lm = load_model(path);
    const HParams& hp = lm.model->hparams();
    ASSERT_EQ(hp.n_layer, 4);
    EXPECT_EQ(hp.layer_kind(0), LayerKind::Recurrent);
    EXPECT_EQ(hp.layer_kind(1), LayerKind::Recurrent);
    EXPECT_EQ(hp.layer_kind(2), LayerKind::Recurrent);
    EXPECT_EQ(hp.layer_kind(3), LayerKind::Attention);  // full_attention_interval 4
    EXPECT_EQ(hp.n_attention_layers(), 1);
    EXPECT_EQ(hp.ssm.conv_channels(), 2 * 2 * 32 + 4 * 32);
    // KV for the one attention layer only: 2 × ctx × kv heads × head dim × 4 bytes.
    EXPECT_EQ(memory::kv_cache_bytes(hp, 256, ops::KvType::F32), size_t{2} * 256 * 2 * 64 * 4);
    // Three delta-net layers: 3 conv taps of history over 256 channels, 4 heads of 32 × 32.
    EXPECT_EQ(memory::recurrent_state_bytes(hp), size_t{3} * (3 * 256 + 4 * 32 * 32) * 4);
    SessionOptions opt;
    opt.n_ctx = 256;
    opt.kv_type = ops::KvType::F32;
    Session session(*lm.model, opt);
    EXPECT_EQ(session.cache().bytes(), memory::kv_cache_bytes(hp, 256, ops::KvType::F32) +
                                           memory::recurrent_state_bytes(hp));
    session.eval(golden_tokens("synth-qwen35-256-F32"));  // a prompt: one checkpoint more
    EXPECT_EQ(session.cache().bytes(), memory::kv_cache_bytes(hp, 256, ops::KvType::F32) +
                                           2 * memory::recurrent_state_bytes(hp));
    EXPECT_LE(session.cache().bytes(), memory::sequence_cache_bytes(hp, 256, memory::kv_type_traits(ops::KvType::F32)));
}

class HybridSplits : public ::testing::TestWithParam<const char*> {};

TEST_P(HybridSplits, OneBatchChunksAndTokenByTokenAgree) {
    const std::string name = GetParam();
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/" + name + ".gguf");
    LoadedModel lm = load_model(path);
    const std::vector<int32_t> tokens = golden_tokens(name);
    for (ops::CpuPath cpu : ops::supported_cpu_paths()) {
        SCOPED_TRACE(std::string("path ") + ops::cpu_path_name(cpu));
        test::ScopedCpuPath scoped(cpu);
        const std::vector<float> whole = eval_all(*lm.model, tokens, 64);
        const std::vector<float> chunks = eval_all(*lm.model, tokens, 5);
        const std::vector<float> single = eval_all(*lm.model, tokens, 1);
        ASSERT_EQ(whole.size(), chunks.size());
        ASSERT_EQ(whole.size(), single.size());
        EXPECT_LE(max_abs_diff(whole.data(), chunks.data(), whole.size()), 1e-3);
        EXPECT_LE(max_abs_diff(whole.data(), single.data(), whole.size()), 1e-3);
    }
}

INSTANTIATE_TEST_SUITE_P(Models, HybridSplits,
                         ::testing::Values("synth-qwen35-256-F32", "synth-qwen35-256-Q8_0", "synth-qwen35moe-256-F32",
                                           "synth-qwen35moe-256-Q8_0"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                             std::string s = info.param;
                             for (char& c : s)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return s;
                         });

TEST(HybridState, RewindResumesFromACheckpointAndGivesTheSameLogits) {
    const std::string name = "synth-qwen35-256-F32";
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/" + name + ".gguf");
    LoadedModel lm = load_model(path);
    const std::vector<int32_t> tokens = golden_tokens(name);
    const size_t n_vocab = static_cast<size_t>(lm.model->hparams().n_vocab);
    const std::vector<float> reference = eval_all(*lm.model, tokens, 64);

    SessionOptions opt;
    opt.n_ctx = 256;
    opt.kv_type = ops::KvType::F32;
    Session session(*lm.model, opt);
    session.eval(std::vector<int32_t>(tokens.begin(), tokens.begin() + 20));  // a prompt: checkpoint at 20
    for (size_t i = 20; i < 30; ++i) session.eval({tokens[i]});             // decoding: none
    EXPECT_EQ(session.n_past(), 30);

    // Back to 25: the state saw 30 positions, the nearest checkpoint is 20.
    EXPECT_EQ(session.rewind(25), 20);
    const std::vector<int32_t> rest(tokens.begin() + 20, tokens.end());
    const std::vector<float> resumed = session.eval(rest, LogitsFor::All);
    ASSERT_EQ(resumed.size(), rest.size() * n_vocab);
    EXPECT_LE(max_abs_diff(resumed.data(), reference.data() + 20 * n_vocab, resumed.size()), 1e-4);

    // A rewind to the state's own position keeps everything; one before every checkpoint starts over.
    EXPECT_EQ(session.rewind(48), 48);
    EXPECT_EQ(session.rewind(10), 0);
    const std::vector<float> again = session.eval(tokens, LogitsFor::All);
    EXPECT_LE(max_abs_diff(again.data(), reference.data(), again.size()), 1e-4);
}

TEST(HybridState, ForwardRefusesToContinueFromAnotherPosition) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-qwen35-256-F32.gguf");
    LoadedModel lm = load_model(path);
    KvCache cache(lm.model->hparams(), 64, ops::KvType::F32);
    ThreadPool pool(1);
    ops::Context ctx;
    ctx.pool = &pool;
    std::vector<float> logits;
    lm.model->forward(ctx, {1, 5, 7}, 0, cache, LogitsFor::Last, logits);
    EXPECT_EQ(cache.state_pos(), 3);
    try {
        lm.model->forward(ctx, {9}, 2, cache, LogitsFor::Last, logits);  // the state holds 3
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("recurrent state holds 3 positions"), std::string::npos) << e.what();
    }
    // Position 0 starts afresh whatever the state held.
    lm.model->forward(ctx, {1, 5, 7}, 0, cache, LogitsFor::Last, logits);
    EXPECT_EQ(cache.state_pos(), 3);
}

}  // namespace
}  // namespace hearth
