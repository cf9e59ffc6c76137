// A whole model with MXFP4 experts (../shared/golden/arch/synth-gptoss-256-MXFP4.gguf, written by
// ggml's tools) through the engine on every CPU path, against that README's tolerances: the scalar
// path (float activations, exactly dequantized weights) against the float64 reference, the SIMD
// paths (8-bit activations, as llama.cpp) against llama.cpp's logits.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "engine/loader.h"
#include "engine/session.h"
#include "ops/cpu/dispatch.h"
#include "test_support.h"

namespace hearth {
namespace {

int argmax_row(const std::vector<float>& v, size_t row, int n) {
    const float* r = v.data() + row * static_cast<size_t>(n);
    return static_cast<int>(std::max_element(r, r + n) - r);
}

TEST(Mxfp4Model, GptOssLogitsOnEveryPath) {
    const std::string base = "golden/arch/synth-gptoss-256-MXFP4";
    HEARTH_SHARED_OR_SKIP(gguf_path, base + ".gguf");
    const auto tj = nlohmann::json::parse(test::read_file(test::shared_path(base + ".tokens.json")));
    const auto tokens = tj["tokens"].get<std::vector<int32_t>>();
    const auto margins = tj["top1_margin_llamacpp"].get<std::vector<double>>();
    const std::vector<float> exact = test::read_f32_file(test::shared_path(base + ".logits.exact.f32"));
    const std::vector<float> llamacpp = test::read_f32_file(test::shared_path(base + ".logits.llamacpp.f32"));

    LoadedModel lm = load_model(gguf_path);
    const int n_vocab = lm.model->hparams().n_vocab;
    ASSERT_EQ(exact.size(), tokens.size() * static_cast<size_t>(n_vocab));
    const ops::CpuPath saved = ops::active_cpu_path();
    for (ops::CpuPath path : ops::supported_cpu_paths()) {
        ops::set_cpu_path(path);
        SCOPED_TRACE(ops::cpu_path_name(path));
        SessionOptions opt;
        opt.n_ctx = 128;
        opt.kv_type = ops::KvType::F32;
        Session session(*lm.model, opt);
        const std::vector<float> got = session.eval(tokens, LogitsFor::All);
        ASSERT_EQ(got.size(), exact.size());
        const bool scalar = path == ops::CpuPath::Scalar;
        const std::vector<float>& want = scalar ? exact : llamacpp;
        double max_abs = 0, sum_sq = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
            max_abs = std::max(max_abs, d);
            sum_sq += d * d;
        }
        const double rms = std::sqrt(sum_sq / static_cast<double>(got.size()));
        std::printf("    gpt-oss MXFP4 %s vs %s: max abs %.5f, rms %.5f\n", ops::cpu_path_name(path),
                    scalar ? "exact" : "llama.cpp", max_abs, rms);
        if (scalar) {
            EXPECT_LE(max_abs, 1e-3);  // the README's F32 bound: the weights are exactly the reference's
        } else {
            EXPECT_LE(rms, 0.5);  // quantized activations; no max bound for MoE (routing flips)
        }
        for (size_t pos = 0; pos < tokens.size(); ++pos)
            if (margins[pos] > (scalar ? 0.01 : 1.0)) {
                EXPECT_EQ(argmax_row(got, pos, n_vocab), argmax_row(want, pos, n_vocab)) << "position " << pos;
            }
    }
    ops::set_cpu_path(saved);
}

}  // namespace
}  // namespace hearth
