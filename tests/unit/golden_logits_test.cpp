// End-to-end numerics: hearth's logits for the golden synthetic models (every tensor type and
// architecture) against an exact float64 forward pass over the same weights, with the
// tolerances ../shared/golden/README.md calls fair, under every CPU dispatch path this machine
// has. The scalar path is the exact reference (float activations on dequantized weights); the
// SIMD paths quantize activations to 8 bits for quantized weights, which costs what it costs
// llama.cpp (README: "Suggested test tolerances").
#include <algorithm>
#include <cmath>
#include <fstream>
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

enum class Weights { F32, F16, BF16, Quantized };

struct GoldenCase {
    const char* model;
    Weights weights;
    double max_abs_f16_kv;  // scalar path with an F16 KV cache (F32 KV: 2e-4)
};

std::ostream& operator<<(std::ostream& os, const GoldenCase& c) { return os << c.model; }

struct Limits {
    double max_abs;
    double rms;           // < 0: not checked
    double margin_floor;  // top-1 must match the exact argmax where the exact margin exceeds this
};

Limits limits_for(const GoldenCase& gc, ops::CpuPath path, ops::KvType kv) {
    const bool f16_kv = kv == ops::KvType::F16;
    if (path == ops::CpuPath::Scalar)
        return {f16_kv ? gc.max_abs_f16_kv : 2e-4, -1, f16_kv ? 0.5 : 0.05};
    if (gc.weights == Weights::Quantized) return {1.5, 0.3, 0.5};
    // Float weights keep float activations on the SIMD paths; these are the README's bounds.
    const double weights_limit = gc.weights == Weights::F32 ? 1e-3 : gc.weights == Weights::F16 ? 0.03 : 0.25;
    return {f16_kv ? std::max(weights_limit, gc.max_abs_f16_kv) : weights_limit, -1, f16_kv ? 0.5 : 0.05};
}

using test::ScopedCpuPath;

class GoldenLogits : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenLogits, MatchExactReference) {
    const GoldenCase& gc = GetParam();
    const std::string name = gc.model;
    HEARTH_SHARED_OR_SKIP(gguf_path, "golden/" + name + ".gguf");
    json tokens_json = json::parse(test::read_file(test::shared_path("golden/" + name + ".tokens.json")));
    std::vector<float> exact = test::read_f32_file(test::shared_path("golden/" + name + ".logits.exact.f32"));
    std::vector<int32_t> tokens = tokens_json["tokens"].get<std::vector<int32_t>>();
    std::vector<double> margins = tokens_json["top1_margin_exact"].get<std::vector<double>>();

    LoadedModel lm = load_model(gguf_path);
    const int n_vocab = lm.model->hparams().n_vocab;
    ASSERT_EQ(exact.size(), tokens.size() * n_vocab);

    for (ops::CpuPath path : ops::supported_cpu_paths()) {
        ScopedCpuPath scoped(path);
        for (auto kv : {ops::KvType::F32, ops::KvType::F16}) {
            SCOPED_TRACE(std::string("path ") + ops::cpu_path_name(path) + ", kv " + ops::kv_type_name(kv));
            SessionOptions opt;
            opt.n_ctx = 256;
            opt.kv_type = kv;
            Session session(*lm.model, opt);
            std::vector<float> got = session.eval(tokens, LogitsFor::All);
            ASSERT_EQ(got.size(), exact.size());
            const test::LogitsDiff c = test::compare_logits(got, exact, static_cast<size_t>(n_vocab));
            const Limits lim = limits_for(gc, path, kv);
            EXPECT_LE(c.max_abs, lim.max_abs) << name << " " << c;
            if (lim.rms >= 0) {
                EXPECT_LE(c.rms, lim.rms) << name << " " << c;
            }
            // Top-1 must agree wherever the reference is not a near-tie.
            for (size_t pos = 0; pos < tokens.size(); ++pos) {
                if (margins[pos] > lim.margin_floor) {
                    EXPECT_TRUE(c.top1_equal(pos)) << "position " << pos << ": top-1 " << c.got_top1[pos]
                                                   << ", the exact reference's " << c.want_top1[pos];
                }
            }
            std::printf("    %s %s kv %s: max abs %.6f, rms %.6f (limit %.4f)\n", name.c_str(),
                        ops::cpu_path_name(path), ops::kv_type_name(kv), c.max_abs, c.rms, lim.max_abs);
        }
    }
}

TEST_P(GoldenLogits, GreedyContinuationMatchesExact) {
    const GoldenCase& gc = GetParam();
    const std::string name = gc.model;
    HEARTH_SHARED_OR_SKIP(gguf_path, "golden/" + name + ".gguf");
    json tj = json::parse(test::read_file(test::shared_path("golden/" + name + ".tokens.json")));
    auto prompt = tj["greedy_prompt"].get<std::vector<int32_t>>();
    auto expected = tj["greedy_ids_exact"].get<std::vector<int32_t>>();
    auto margins = tj["greedy_margin_exact"].get<std::vector<double>>();

    LoadedModel lm = load_model(gguf_path);
    const int n_vocab = lm.model->hparams().n_vocab;
    for (ops::CpuPath path : ops::supported_cpu_paths()) {
        SCOPED_TRACE(std::string("path ") + ops::cpu_path_name(path));
        ScopedCpuPath scoped(path);
        const double margin_floor = limits_for(gc, path, ops::KvType::F32).margin_floor;
        SessionOptions opt;
        opt.n_ctx = 256;
        opt.kv_type = ops::KvType::F32;
        Session session(*lm.model, opt);
        std::vector<float> logits = session.eval(prompt);
        int compared = 0;
        for (size_t step = 0; step < expected.size(); ++step) {
            const int next = static_cast<int>(test::argmax(std::span<const float>(logits).first(static_cast<size_t>(n_vocab))));
            if (margins[step] < margin_floor) break;  // a near-tie: either choice is right from here on
            ASSERT_EQ(next, expected[step]) << "step " << step;
            ++compared;
            logits = session.eval({next});
        }
        // The first step's margin may already be a near-tie at the quantized floor.
        if (margins[0] >= margin_floor) {
            EXPECT_GT(compared, 0);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    AllTypesAndArchitectures, GoldenLogits,
    ::testing::Values(GoldenCase{"synth-llama-256-F32", Weights::F32, 0.03},
                      GoldenCase{"synth-llama-256-F16", Weights::F16, 0.03},
                      GoldenCase{"synth-llama-256-BF16", Weights::BF16, 0.03},
                      GoldenCase{"synth-llama-256-Q8_0", Weights::Quantized, 0.03},
                      GoldenCase{"synth-llama-256-Q4_0", Weights::Quantized, 0.03},
                      GoldenCase{"synth-llama-256-Q4_1", Weights::Quantized, 0.03},
                      GoldenCase{"synth-llama-256-Q5_0", Weights::Quantized, 0.03},
                      GoldenCase{"synth-llama-256-Q2_K", Weights::Quantized, 0.03},
                      GoldenCase{"synth-llama-256-Q4_K_M", Weights::Quantized, 0.03},
                      GoldenCase{"synth-llama-256-Q6_K", Weights::Quantized, 0.03},
                      GoldenCase{"synth-qwen2-256-F32", Weights::F32, 0.03},
                      GoldenCase{"synth-qwen3-256-F32", Weights::F32, 0.03},
                      GoldenCase{"synth-llama3-256-F32", Weights::F32, 0.06}),
    [](const ::testing::TestParamInfo<GoldenCase>& info) {
        std::string s = info.param.model;
        for (char& c : s) if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        return s;
    });

}  // namespace
}  // namespace hearth
