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
        const test::LogitsDiff d = test::compare_logits(got, want, static_cast<size_t>(n_vocab));
        std::printf("    gpt-oss MXFP4 %s vs %s: max abs %.5f, rms %.5f\n", ops::cpu_path_name(path),
                    scalar ? "exact" : "llama.cpp", d.max_abs, d.rms);
        if (scalar) {
            EXPECT_LE(d.max_abs, 1e-3) << d;  // the README's F32 bound: the weights are exactly the reference's
        } else {
            EXPECT_LE(d.rms, 0.5) << d;  // quantized activations; no max bound for MoE (routing flips)
        }
        for (size_t pos = 0; pos < tokens.size(); ++pos)
            if (margins[pos] > (scalar ? 0.01 : 1.0)) {
                EXPECT_TRUE(d.top1_equal(pos)) << "position " << pos << ": top-1 " << d.got_top1[pos]
                                               << ", the reference's " << d.want_top1[pos];
            }
    }
    ops::set_cpu_path(saved);
}

}  // namespace
}  // namespace hearth
