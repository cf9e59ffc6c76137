// End-to-end numerics of the newer families (MoE, sliding window, sinks, fused tensors, LongRoPE,
// YaRN): hearth's logits for the tiny random models in ../shared/golden/arch against llama.cpp's
// logits and an exact float64 forward pass, on every CPU dispatch path and both KV cache types,
// with the tolerances that directory's README calls fair:
//   - float activations (F32 weights, or the scalar path on any weights) with an F32 KV cache:
//     max |d| <= 1e-3 against the exact reference; top-1 equal wherever its margin > 0.01;
//   - float activations with an F16 KV cache: max <= 0.25, rms <= 0.03 against the exact
//     reference; top-1 equal where its margin > 0.1;
//   - activations quantized to 8 bits (SIMD paths on quantized weights, as llama.cpp does):
//     against llama.cpp, rms <= 0.5, max <= 1.5 for dense models (MoE: none, a routing flip may
//     move a few logits far), top-1 equal where llama.cpp's margin > 1.0.
#include <algorithm>
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/loader.h"
#include "engine/session.h"
#include "ops/cpu/dispatch.h"
#include "scoped_cpu_path.h"
#include "test_support.h"

namespace hearth {
namespace {

using nlohmann::json;

struct ArchCase {
    const char* model;
    bool quantized;  // weights other than F32 (activations get quantized on the SIMD paths)
    bool moe;
};

std::ostream& operator<<(std::ostream& os, const ArchCase& c) { return os << c.model; }

enum class Reference { Exact, LlamaCpp };

struct Limits {
    Reference against;
    double max_abs;       // < 0: not checked
    double rms;           // < 0: not checked
    double margin_floor;  // top-1 must match where the reference's margin exceeds this
};

Limits limits_for(const ArchCase& c, ops::CpuPath path, ops::KvType kv) {
    const bool quantized_activations = c.quantized && path != ops::CpuPath::Scalar;
    if (quantized_activations) return {Reference::LlamaCpp, c.moe ? -1.0 : 1.5, 0.5, 1.0};
    // Float activations: the exact reference (same dequantized weights) is the oracle.
    if (kv == ops::KvType::F16) return {Reference::Exact, 0.25, 0.03, 0.1};
    return {Reference::Exact, 1e-3, -1, 0.01};
}

using test::ScopedCpuPath;

struct ArchGolden {
    std::string gguf;
    json tokens;
    std::vector<float> exact, llamacpp;
};

std::string arch_file(const std::string& model, const std::string& suffix) {
    return test::shared_path("golden/arch/" + model + suffix);
}

class GoldenArch : public ::testing::TestWithParam<ArchCase> {};

TEST_P(GoldenArch, LogitsMatchReferences) {
    const ArchCase& ac = GetParam();
    const std::string name = ac.model;
    HEARTH_SHARED_OR_SKIP(gguf_path, "golden/arch/" + name + ".gguf");
    const json tj = json::parse(test::read_file(arch_file(name, ".tokens.json")));
    const std::vector<float> exact = test::read_f32_file(arch_file(name, ".logits.exact.f32"));
    const std::vector<float> llamacpp = test::read_f32_file(arch_file(name, ".logits.llamacpp.f32"));
    const auto tokens = tj["tokens"].get<std::vector<int32_t>>();
    const auto margin_exact = tj["top1_margin_exact"].get<std::vector<double>>();
    const auto margin_llamacpp = tj["top1_margin_llamacpp"].get<std::vector<double>>();

    LoadedModel lm = load_model(gguf_path);
    const int n_vocab = lm.model->hparams().n_vocab;
    ASSERT_EQ(exact.size(), tokens.size() * n_vocab);
    ASSERT_EQ(llamacpp.size(), exact.size());

    for (ops::CpuPath path : ops::supported_cpu_paths()) {
        ScopedCpuPath scoped(path);
        for (auto kv : {ops::KvType::F32, ops::KvType::F16}) {
            SCOPED_TRACE(std::string("path ") + ops::cpu_path_name(path) + ", kv " + ops::kv_type_name(kv));
            const Limits lim = limits_for(ac, path, kv);
            const std::vector<float>& want = lim.against == Reference::Exact ? exact : llamacpp;
            const std::vector<double>& margins = lim.against == Reference::Exact ? margin_exact : margin_llamacpp;

            SessionOptions opt;
            opt.n_ctx = 256;
            opt.kv_type = kv;
            Session session(*lm.model, opt);
            const std::vector<float> got = session.eval(tokens, LogitsFor::All);
            ASSERT_EQ(got.size(), want.size());

            const test::LogitsDiff d = test::compare_logits(got, want, static_cast<size_t>(n_vocab));
            if (lim.max_abs >= 0) {
                EXPECT_LE(d.max_abs, lim.max_abs) << name << " " << d;
            }
            if (lim.rms >= 0) {
                EXPECT_LE(d.rms, lim.rms) << name << " " << d;
            }
            for (size_t pos = 0; pos < tokens.size(); ++pos) {
                if (margins[pos] <= lim.margin_floor) continue;
                EXPECT_TRUE(d.top1_equal(pos)) << "position " << pos << ": top-1 " << d.got_top1[pos]
                                               << ", the reference's " << d.want_top1[pos];
            }
            std::printf("    %s %s kv %s vs %s: max abs %.6f, rms %.6f\n", name.c_str(), ops::cpu_path_name(path),
                        ops::kv_type_name(kv), lim.against == Reference::Exact ? "exact" : "llama.cpp", d.max_abs,
                        d.rms);
        }
    }
}

// llama.cpp's greedy continuation, compared up to the first step whose margin is a near-tie at
// the precision this path computes with.
TEST_P(GoldenArch, GreedyContinuationMatchesLlamaCpp) {
    const ArchCase& ac = GetParam();
    const std::string name = ac.model;
    HEARTH_SHARED_OR_SKIP(gguf_path, "golden/arch/" + name + ".gguf");
    const json tj = json::parse(test::read_file(arch_file(name, ".tokens.json")));
    const auto prompt = tj["greedy_prompt"].get<std::vector<int32_t>>();
    const auto expected = tj["greedy_ids"].get<std::vector<int32_t>>();
    const auto margins = tj["greedy_margin_llamacpp"].get<std::vector<double>>();

    LoadedModel lm = load_model(gguf_path);
    const int n_vocab = lm.model->hparams().n_vocab;
    for (ops::CpuPath path : ops::supported_cpu_paths()) {
        SCOPED_TRACE(std::string("path ") + ops::cpu_path_name(path));
        ScopedCpuPath scoped(path);
        // llama.cpp quantized the activations of quantized models: only its clear margins bind.
        const double margin_floor = ac.quantized ? 1.0 : 0.01;
        SessionOptions opt;
        opt.n_ctx = 256;
        opt.kv_type = ops::KvType::F32;
        Session session(*lm.model, opt);
        std::vector<float> logits = session.eval(prompt);
        size_t compared = 0;
        for (size_t step = 0; step < expected.size(); ++step) {
            if (margins[step] < margin_floor) break;
            const int next = static_cast<int>(test::argmax(std::span<const float>(logits).first(static_cast<size_t>(n_vocab))));
            ASSERT_EQ(next, expected[step]) << "step " << step;
            ++compared;
            logits = session.eval({next});
        }
        if (margins[0] >= margin_floor) {
            EXPECT_GT(compared, 0u);
        }
    }
}

// The hyperparameters the loader derives for each family, checked against the README's table.
TEST(GoldenArchHparams, DerivedLayerKindsAndExperts) {
    HEARTH_SHARED_OR_SKIP(gptoss, "golden/arch/synth-gptoss-256-F32.gguf");
    {
        LoadedModel lm = load_model(gptoss);
        const HParams& hp = lm.model->hparams();
        EXPECT_EQ(hp.n_expert, 8);
        EXPECT_EQ(hp.n_expert_used, 4);
        EXPECT_EQ(hp.n_swa, 16);
        ASSERT_EQ(hp.swa_layers.size(), 4u);
        EXPECT_TRUE(hp.swa_layers[0]);
        EXPECT_FALSE(hp.swa_layers[1]);
        EXPECT_TRUE(hp.swa_layers[2]);
        EXPECT_FALSE(hp.swa_layers[3]);
        // One embedding row, the untied head, per layer q/k/v/o and the router, and 4 of the 8
        // experts' gate/up/down (biases are not counted).
        const uint64_t per_layer = 256 * 256 * 2 + 256 * 64 * 2 + 256 * 8 + 4 * (256 * 32 * 3);
        EXPECT_EQ(lm.model->active_params(), 256 + 512 * 256 + 4 * per_layer);
    }
    HEARTH_SHARED_OR_SKIP(gemma, "golden/arch/synth-gemma3-256-F32.gguf");
    {
        LoadedModel lm = load_model(gemma);
        const HParams& hp = lm.model->hparams();
        ASSERT_EQ(hp.swa_layers.size(), 6u);
        for (int il = 0; il < 5; ++il) EXPECT_TRUE(hp.swa_layers[il]) << il;
        EXPECT_FALSE(hp.swa_layers[5]);
        EXPECT_FLOAT_EQ(hp.embd_scale, 16.0f);
        EXPECT_EQ(hp.n_expert, 0);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Families, GoldenArch,
    ::testing::Values(ArchCase{"synth-qwen3moe-256-F32", false, true}, ArchCase{"synth-qwen3moe-256-Q8_0", true, true},
                      ArchCase{"synth-gptoss-256-F32", false, true}, ArchCase{"synth-gptoss-256-MXFP4", true, true},
                      ArchCase{"synth-mixtral-256-F32", false, true},
                      ArchCase{"synth-mixtral-256-Q8_0", true, true}, ArchCase{"synth-gemma3-256-F32", false, false},
                      ArchCase{"synth-gemma3-256-Q8_0", true, false}, ArchCase{"synth-phi4mini-256-F32", false, false},
                      ArchCase{"synth-phi4mini-256-Q8_0", true, false}, ArchCase{"synth-qwen35-256-F32", false, false},
                      ArchCase{"synth-qwen35-256-Q8_0", true, false}, ArchCase{"synth-qwen35moe-256-F32", false, true},
                      ArchCase{"synth-qwen35moe-256-Q8_0", true, true}),
    [](const ::testing::TestParamInfo<ArchCase>& info) {
        std::string s = info.param.model;
        for (char& c : s)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        return s;
    });

}  // namespace
}  // namespace hearth
