// hearth quantize: byte-identical to llama-quantize --pure for the rounding types, K-quant mixes
// that load and stay close to the F32 model, and clear errors that leave nothing behind.
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "convert/quantize_model.h"
#include "engine/loader.h"
#include "engine/session.h"
#include "process.h"
#include "test_support.h"

namespace hearth::convert {
namespace {

namespace fs = std::filesystem;

QuantizeOptions options_for(std::string_view type, bool pure, int threads = 2) {
    QuantizeOptions o;
    o.mix = &find_quant_mix(type);
    o.pure = pure;
    o.n_threads = threads;
    return o;
}

class QuantizeMatchesLlamaQuantize : public ::testing::TestWithParam<const char*> {};

// ../shared/golden/synth-llama-256-<T>.gguf came from `llama-quantize --pure <F32> <out> <T>`.
TEST_P(QuantizeMatchesLlamaQuantize, PureTensorBytesAreIdentical) {
    const std::string type = GetParam();
    HEARTH_SHARED_OR_SKIP(f32, "golden/synth-llama-256-F32.gguf");
    HEARTH_SHARED_OR_SKIP(reference, "golden/synth-llama-256-" + type + ".gguf");
    auto dir = test::temp_dir();
    const std::string out = (dir / "out.gguf").string();
    QuantizeResult r = quantize_model(f32, out, options_for(type, true));
    auto got = gguf::File::open(out);
    auto want = gguf::File::open(reference);
    auto input = gguf::File::open(f32);
    EXPECT_EQ(r.n_tensors, want->tensors().size());
    ASSERT_EQ(got->tensors().size(), input->tensors().size());
    for (size_t i = 0; i < got->tensors().size(); ++i) {
        const auto& g = got->tensors()[i];
        EXPECT_EQ(g.name, input->tensors()[i].name) << "tensor order changed at " << i;
        const gguf::TensorInfo* w = want->find_tensor(g.name);
        ASSERT_NE(w, nullptr) << g.name;
        EXPECT_STREQ(g.traits->name, w->traits->name) << g.name;
        EXPECT_EQ(g.dims, w->dims) << g.name;
        ASSERT_EQ(g.n_bytes, w->n_bytes) << g.name;
        EXPECT_EQ(std::memcmp(g.data, w->data, g.n_bytes), 0) << g.name << " bytes differ";
    }
    EXPECT_EQ(got->require_u64("general.file_type"), want->require_u64("general.file_type"));
    EXPECT_EQ(got->require_u64("general.quantization_version"), 2u);
    // Every other key is copied unchanged.
    for (const auto& kv : input->metadata()) {
        if (kv.key == "general.file_type" || kv.key == "general.quantization_version") continue;
        const gguf::Value* v = got->find(kv.key);
        ASSERT_NE(v, nullptr) << kv.key;
        EXPECT_EQ(v->type, kv.value.type) << kv.key;
        EXPECT_EQ(v->bits, kv.value.bits) << kv.key;
        EXPECT_EQ(v->str, kv.value.str) << kv.key;
        EXPECT_EQ(v->real, kv.value.real) << kv.key;
        EXPECT_EQ(v->array.size(), kv.value.array.size()) << kv.key;
    }
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(RoundingTypes, QuantizeMatchesLlamaQuantize,
                         ::testing::Values("Q8_0", "Q4_0", "Q4_1", "Q5_0", "F16", "BF16"),
                         [](const auto& info) { return std::string(info.param); });

struct Logits {
    std::vector<float> values;
    int n_vocab = 0;
};

Logits golden_logits(const std::string& path, const std::vector<int32_t>& tokens) {
    LoadedModel lm = load_model(path);
    SessionOptions so;
    so.n_ctx = 256;
    so.kv_type = ops::KvType::F32;
    so.n_threads = 2;
    Session session(*lm.model, so);
    return {session.eval(tokens, LogitsFor::All), lm.model->hparams().n_vocab};
}

double rms_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double sq = 0;
    for (size_t i = 0; i < a.size(); ++i) sq += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    return std::sqrt(sq / a.size());
}

// 4-bit noise on this model (logit std 8) moves the logits by rms ~1.3 whichever quantizer made
// it, so the fair bar is llama-quantize's own file of the same type (the golden one), run by
// hearth against the same F32 logits: ours must be at least about as close.
TEST(Quantize, KQuantsAreAsCloseToF32AsLlamaQuantizes) {
    HEARTH_SHARED_OR_SKIP(f32, "golden/synth-llama-256-F32.gguf");
    auto tj = nlohmann::json::parse(test::read_file(test::shared_path("golden/synth-llama-256-F32.tokens.json")));
    auto tokens = tj["tokens"].get<std::vector<int32_t>>();
    Logits base = golden_logits(f32, tokens);
    auto dir = test::temp_dir();
    auto rms_of = [&](const std::string& path) {
        Logits q = golden_logits(path, tokens);
        EXPECT_EQ(q.values.size(), base.values.size());
        return q.values.size() == base.values.size() ? rms_diff(q.values, base.values) : 1e9;
    };
    double pure_q4_k = 0;
    for (const char* type : {"Q4_K_M", "Q6_K", "Q2_K"}) {
        SCOPED_TRACE(type);
        const std::string reference = test::shared_path(std::string("golden/synth-llama-256-") + type + ".gguf");
        if (reference.empty()) continue;
        const std::string out = (dir / (std::string(type) + "-pure.gguf")).string();
        quantize_model(f32, out, options_for(type, true));
        const double ours = rms_of(out), theirs = rms_of(reference);
        EXPECT_LE(ours, 1.1 * theirs);
        std::printf("    %s --pure vs F32: rms %.4f (llama-quantize's file: %.4f)\n", type, ours, theirs);
        if (std::string(type) == "Q4_K_M") pure_q4_k = ours;
    }
    // The Q4_K_M mix spends more bits on the output head, attn_v and ffn_down: closer than pure.
    const std::string mixed = (dir / "Q4_K_M.gguf").string();
    quantize_model(f32, mixed, options_for("Q4_K_M", false));
    const double mix_rms = rms_of(mixed);
    std::printf("    Q4_K_M mix vs F32: rms %.4f\n", mix_rms);
    if (pure_q4_k > 0) {
        EXPECT_LT(mix_rms, pure_q4_k);
    }
    EXPECT_LT(mix_rms, 0.2 * 8.0);  // a fifth of the logit spread at most

    // The mix's types: untied output Q6_K; 2 layers → both "use more bits" for attn_v/ffn_down.
    auto f = gguf::File::open(mixed);
    EXPECT_EQ(f->require_u64("general.file_type"), 15u);
    EXPECT_STREQ(f->find_tensor("output.weight")->traits->name, "Q6_K");
    EXPECT_STREQ(f->find_tensor("token_embd.weight")->traits->name, "Q4_K");
    EXPECT_STREQ(f->find_tensor("blk.0.attn_q.weight")->traits->name, "Q4_K");
    EXPECT_STREQ(f->find_tensor("blk.1.attn_v.weight")->traits->name, "Q6_K");
    EXPECT_STREQ(f->find_tensor("blk.1.ffn_down.weight")->traits->name, "Q6_K");
    EXPECT_STREQ(f->find_tensor("blk.0.attn_norm.weight")->traits->name, "F32");
    // Greedy argmax agrees with F32 at most positions.
    Logits q = golden_logits(mixed, tokens);
    int agree = 0;
    const int n = base.n_vocab;
    for (size_t pos = 0; pos < tokens.size(); ++pos) {
        auto top = [&](const std::vector<float>& v) {
            return std::max_element(v.begin() + pos * n, v.begin() + (pos + 1) * n) - v.begin();
        };
        agree += top(q.values) == top(base.values);
    }
    EXPECT_GE(agree, static_cast<int>(tokens.size()) * 3 / 4);
    fs::remove_all(dir);
}

TEST(Quantize, PureQ4KMHasTheReferenceTypes) {
    HEARTH_SHARED_OR_SKIP(f32, "golden/synth-llama-256-F32.gguf");
    HEARTH_SHARED_OR_SKIP(reference, "golden/synth-llama-256-Q4_K_M.gguf");
    auto dir = test::temp_dir();
    const std::string out = (dir / "out.gguf").string();
    quantize_model(f32, out, options_for("Q4_K_M", true));
    auto got = gguf::File::open(out);
    auto want = gguf::File::open(reference);
    EXPECT_EQ(got->file_size(), want->file_size());
    for (const auto& w : want->tensors())
        EXPECT_STREQ(got->find_tensor(w.name)->traits->name, w.traits->name) << w.name;
    fs::remove_all(dir);
}

// gpt-oss with MXFP4 experts: the expert bytes are those of ../shared/golden/arch's MXFP4 file
// (gguf-py's quantizer, the same bytes as llama-quantize MXFP4_MOE); the router stays F32, the
// other matrices follow the Q8_0 mix.
TEST(Quantize, Mxfp4ExpertsMatchTheGoldenFile) {
    HEARTH_SHARED_OR_SKIP(f32, "golden/arch/synth-gptoss-256-F32.gguf");
    HEARTH_SHARED_OR_SKIP(reference, "golden/arch/synth-gptoss-256-MXFP4.gguf");
    auto dir = test::temp_dir();
    const std::string out = (dir / "out.gguf").string();
    quantize_model(f32, out, options_for("MXFP4", false));
    auto got = gguf::File::open(out);
    auto want = gguf::File::open(reference);
    EXPECT_EQ(got->get_u64("general.file_type"), 38u);
    int experts = 0;
    for (const auto& t : got->tensors()) {
        const bool expert = t.name.find("_exps.weight") != std::string::npos;  // (the expert biases stay F32)
        const gguf::TensorInfo* w = want->find_tensor(t.name);
        ASSERT_NE(w, nullptr) << t.name;
        if (expert) {
            ASSERT_STREQ(t.traits->name, "MXFP4") << t.name;
            ASSERT_EQ(t.n_bytes, w->n_bytes) << t.name;
            EXPECT_EQ(std::memcmp(t.data, w->data, t.n_bytes), 0) << t.name;
            ++experts;
        } else if (t.name.find("ffn_gate_inp") != std::string::npos || t.name.find(".bias") != std::string::npos ||
                   t.dims.size() == 1) {
            EXPECT_STREQ(t.traits->name, "F32") << t.name;
        } else {
            EXPECT_STREQ(t.traits->name, "Q8_0") << t.name;
        }
    }
    EXPECT_EQ(experts, 12);  // gate, up, down × 4 layers
    fs::remove_all(dir);
}

TEST(Quantize, ThreadCountDoesNotChangeTheResult) {
    HEARTH_SHARED_OR_SKIP(f32, "golden/synth-qwen2-256-F32.gguf");
    auto dir = test::temp_dir();
    quantize_model(f32, (dir / "1.gguf").string(), options_for("Q4_K_M", false, 1));
    quantize_model(f32, (dir / "3.gguf").string(), options_for("Q4_K_M", false, 3));
    EXPECT_EQ(test::read_file(dir / "1.gguf"), test::read_file(dir / "3.gguf"));
    fs::remove_all(dir);
}

TEST(Quantize, F16InputConverts) {
    HEARTH_SHARED_OR_SKIP(f16, "golden/synth-llama-256-F16.gguf");
    auto dir = test::temp_dir();
    quantize_model(f16, (dir / "q8.gguf").string(), options_for("Q8_0", false));
    quantize_model(f16, (dir / "f32.gguf").string(), options_for("F32", false));
    auto q8 = gguf::File::open((dir / "q8.gguf").string());
    EXPECT_STREQ(q8->find_tensor("blk.0.ffn_up.weight")->traits->name, "Q8_0");
    auto f32 = gguf::File::open((dir / "f32.gguf").string());
    EXPECT_STREQ(f32->find_tensor("blk.0.ffn_up.weight")->traits->name, "F32");
    EXPECT_EQ(f32->require_u64("general.file_type"), 0u);
    LoadedModel lm = load_model((dir / "q8.gguf").string());
    EXPECT_EQ(lm.model->hparams().n_layer, 2);
    fs::remove_all(dir);
}

TEST(Quantize, QuantizedInputIsRefusedNamingTheTensor) {
    HEARTH_SHARED_OR_SKIP(q8, "golden/synth-llama-256-Q8_0.gguf");
    auto dir = test::temp_dir();
    const std::string out = (dir / "out.gguf").string();
    try {
        quantize_model(q8, out, options_for("Q4_0", false));
        FAIL() << "no error";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("tensor 'output.weight'"), std::string::npos) << msg;  // the first one
        EXPECT_NE(msg.find("Q8_0"), std::string::npos) << msg;
        EXPECT_NE(msg.find("requantiz"), std::string::npos) << msg;
    }
    EXPECT_TRUE(fs::is_empty(dir));
    fs::remove_all(dir);
}

TEST(Quantize, MissingInputAndUnwritableOutputAreNamed) {
    HEARTH_SHARED_OR_SKIP(f32, "golden/synth-llama-256-F32.gguf");
    auto dir = test::temp_dir();
    try {
        quantize_model((dir / "missing.gguf").string(), (dir / "out.gguf").string(), options_for("Q4_0", false));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("missing.gguf"), std::string::npos) << e.what();
    }
    try {
        quantize_model(f32, (dir / "no-dir" / "out.gguf").string(), options_for("Q4_0", false));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no-dir"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(fs::is_empty(dir));
    fs::remove_all(dir);
}

TEST(QuantizeCli, ConvertsAndReportsErrorsOnOneLine) {
    HEARTH_SHARED_OR_SKIP(f32, "golden/synth-llama-256-F32.gguf");
    HEARTH_SHARED_OR_SKIP(q8, "golden/synth-llama-256-Q8_0.gguf");
    auto dir = test::temp_dir();
    const std::string out = (dir / "out.gguf").string();
    auto r = test::run_process({HEARTH_BINARY, "quantize", f32, out, "Q4_K_M", "-t", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Q4_K_M"), std::string::npos) << r.out;
    EXPECT_TRUE(fs::exists(out));

    const std::string dry = (dir / "dry.gguf").string();
    r = test::run_process({HEARTH_BINARY, "quantize", f32, dry, "Q4_0", "--dry-run"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("output.weight"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("-> Q6_K"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nothing written"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(dry));

    r = test::run_process({HEARTH_BINARY, "quantize", f32, out, "Q4_X"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("unknown quantization type 'Q4_X'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Q6_K"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

    r = test::run_process({HEARTH_BINARY, "quantize", q8, (dir / "q.gguf").string(), "Q4_0"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("Q8_0"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "q.gguf"));

    r = test::run_process({HEARTH_BINARY, "quantize", (dir / "nope.gguf").string(), out, "Q4_0"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("nope.gguf"), std::string::npos) << r.err;
    // Only the one good output exists: no temporary files left behind.
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
    fs::remove_all(dir);
}

}  // namespace
}  // namespace hearth::convert
