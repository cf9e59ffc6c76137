// hearth synth: synthetic models in real shapes load, run, carry the mix's per-tensor types and
// complete tokenizer metadata, and are reproducible from their seed.
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "convert/synth.h"
#include "engine/loader.h"
#include "engine/session.h"
#include "process.h"
#include "test_support.h"

namespace hearth::convert {
namespace {

namespace fs = std::filesystem;

SynthOptions options_for(std::string_view preset, std::string_view type) {
    SynthOptions o;
    o.preset = find_model_preset(preset);
    o.mix = &find_quant_mix(type);
    return o;
}

// Logits of a few tokens at every position; all finite.
std::vector<float> run_tokens(const LoadedModel& lm, const std::vector<int32_t>& tokens) {
    SessionOptions so;
    so.n_ctx = 64;
    so.n_threads = 2;
    Session session(*lm.model, so);
    return session.eval(tokens, LogitsFor::All);
}

void expect_finite(const std::vector<float>& v, const std::string& what) {
    size_t bad = 0;
    for (float x : v) bad += !std::isfinite(x);
    EXPECT_EQ(bad, 0u) << what;
}

// Every tensor's type is what the mix's rules give it.
void expect_mix_types(const gguf::File& f, const QuantMix& mix, const ModelShape& shape, bool pure) {
    for (const auto& t : f.tensors()) {
        const TensorType want = is_quantizable(t.name, t.dims.size())
                                    ? choose_tensor_type(mix, t.name, t.row_length(), shape, pure)
                                    : TensorType::F32;
        EXPECT_STREQ(t.traits->name, type_traits(want).name) << t.name;
    }
}

class SynthTypes : public ::testing::TestWithParam<const char*> {};

TEST_P(SynthTypes, TinyModelLoadsAndGivesFiniteLogits) {
    const std::string type = GetParam();
    auto dir = test::temp_dir();
    const std::string path = (dir / ("tiny-" + type + ".gguf")).string();
    SynthOptions o = options_for("tiny", type);
    SynthResult r = synthesize_model(o, path);
    EXPECT_EQ(r.n_vocab, 512);
    EXPECT_EQ(r.n_tensors, 1u + 2 * 9 + 2);

    LoadedModel lm = load_model(path);
    const gguf::File& f = *lm.file;
    EXPECT_EQ(f.require_u64("general.file_type"), o.mix->file_type());
    EXPECT_EQ(f.require_u64("general.quantization_version"), 2u);
    EXPECT_EQ(f.require_string("general.architecture"), "llama");
    expect_mix_types(f, *o.mix, ModelShape{2, 4, false}, false);
    const HParams& hp = lm.model->hparams();
    EXPECT_EQ(hp.n_embd, 256);
    EXPECT_EQ(hp.n_layer, 2);
    EXPECT_EQ(hp.n_vocab, 512);
    EXPECT_EQ(lm.tokenizer->n_vocab(), 512);

    std::vector<float> logits = run_tokens(lm, {1, 300, 301, 450, 17});
    ASSERT_EQ(logits.size(), 5u * 512);
    expect_finite(logits, type);
    // Random weights still give a spread of logits, not a constant.
    float lo = *std::min_element(logits.begin(), logits.end()), hi = *std::max_element(logits.begin(), logits.end());
    EXPECT_GT(hi - lo, 0.1f);
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(EveryType, SynthTypes,
                         ::testing::Values("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K",
                                           "Q2_K_S", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S",
                                           "Q5_K_M", "Q6_K"),
                         [](const auto& info) { return std::string(info.param); });

TEST(Synth, ArchitecturesLoadAndRun) {
    auto dir = test::temp_dir();
    for (const char* preset : {"tiny-llama3", "tiny-qwen2", "tiny-qwen3"}) {
        SCOPED_TRACE(preset);
        const std::string path = (dir / (std::string(preset) + ".gguf")).string();
        SynthOptions o = options_for(preset, "Q4_K_M");
        synthesize_model(o, path);
        LoadedModel lm = load_model(path);
        EXPECT_EQ(lm.file->find_tensor("output.weight"), nullptr);  // tied
        EXPECT_TRUE(lm.model->weights().tied_output);
        expect_finite(run_tokens(lm, {1, 5, 6, 7}), preset);
    }
    fs::remove_all(dir);
}

// The real presets' shapes, cut to one layer and a small vocabulary so the test stays fast.
TEST(Synth, RealPresetShapesWithOneLayer) {
    auto dir = test::temp_dir();
    struct Case {
        const char* preset;
        const char* arch;
        int n_embd, n_head, n_head_kv, head_dim, n_ff;
    };
    for (const Case& c : {Case{"smollm2-135m", "llama", 576, 9, 3, 64, 1536},
                          Case{"qwen2.5-0.5b", "qwen2", 896, 14, 2, 64, 4864},
                          Case{"qwen3-0.6b", "qwen3", 1024, 16, 8, 128, 3072},
                          Case{"llama3-1b", "llama", 2048, 32, 8, 64, 8192}}) {
        SCOPED_TRACE(c.preset);
        const std::string path = (dir / (std::string(c.preset) + ".gguf")).string();
        SynthOptions o = options_for(c.preset, "Q4_K_M");
        o.preset.n_layer = 1;
        o.preset.n_vocab = 1024;
        synthesize_model(o, path);
        LoadedModel lm = load_model(path);
        const HParams& hp = lm.model->hparams();
        EXPECT_EQ(hp.arch_name, c.arch);
        EXPECT_EQ(hp.n_embd, c.n_embd);
        EXPECT_EQ(hp.n_head, c.n_head);
        EXPECT_EQ(hp.n_head_kv, c.n_head_kv);
        EXPECT_EQ(hp.head_dim, c.head_dim);
        EXPECT_EQ(hp.n_ff, c.n_ff);
        EXPECT_EQ(hp.n_layer, 1);
        EXPECT_EQ(hp.n_vocab, 1024);
        expect_mix_types(*lm.file, *o.mix, ModelShape{1, c.n_head / c.n_head_kv, o.preset.tied_embeddings}, false);
        expect_finite(run_tokens(lm, {1, 100, 200}), c.preset);
    }
    // The 896-wide rows of qwen2.5-0.5b take llama-quantize's fallbacks.
    auto f = gguf::File::open((dir / "qwen2.5-0.5b.gguf").string());
    EXPECT_STREQ(f->find_tensor("token_embd.weight")->traits->name, "Q8_0");
    EXPECT_STREQ(f->find_tensor("blk.0.attn_q.weight")->traits->name, "Q5_0");
    EXPECT_STREQ(f->find_tensor("blk.0.attn_v.weight")->traits->name, "Q8_0");
    EXPECT_STREQ(f->find_tensor("blk.0.ffn_down.weight")->traits->name, "Q6_K");
    EXPECT_STREQ(f->find_tensor("blk.0.attn_q.bias")->traits->name, "F32");
    fs::remove_all(dir);
}

// The newer families: every tensor their manifest asks for, loadable and finite.
TEST(Synth, ManifestFamiliesLoadAndRun) {
    auto dir = test::temp_dir();
    for (const char* preset : {"tiny-qwen3moe", "tiny-gpt-oss", "tiny-gemma3", "tiny-phi3", "tiny-qwen35",
                               "tiny-qwen35moe"}) {
        SCOPED_TRACE(preset);
        const std::string path = (dir / (std::string(preset) + ".gguf")).string();
        SynthOptions o = options_for(preset, "Q8_0");
        synthesize_model(o, path);
        LoadedModel lm = load_model(path);
        EXPECT_EQ(lm.model->hparams().arch_name, o.preset.arch);
        EXPECT_EQ(lm.model->hparams().n_expert, o.preset.n_expert);
        expect_finite(run_tokens(lm, {1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}), preset);
        // llama-quantize keeps MoE routers in F32.
        if (o.preset.n_expert > 0) {
            EXPECT_STREQ(lm.file->find_tensor("blk.0.ffn_gate_inp.weight")->traits->name, "F32");
            EXPECT_STREQ(lm.file->find_tensor("blk.0.ffn_up_exps.weight")->traits->name, "Q8_0");
        }
    }
    fs::remove_all(dir);
}

// The published configs of the new presets, read back through the engine's own reader. Experts
// are cut to 4 and layers to 2 so the files stay small; every other dimension is the real one.
TEST(Synth, NewFamilyPresetShapes) {
    auto dir = test::temp_dir();
    struct Case {
        const char* preset;
        const char* arch;
        int n_embd, n_head, n_head_kv, head_dim, n_ff, n_ff_exp, n_swa, n_rot;
    };
    for (const Case& c : {Case{"gpt-oss-20b", "gpt-oss", 2880, 64, 8, 64, 2880, 2880, 128, 64},
                          Case{"qwen3-30b-a3b", "qwen3moe", 2048, 32, 4, 128, 6144, 768, 0, 128},
                          Case{"gemma3-1b", "gemma3", 1152, 4, 1, 256, 6912, 0, 512, 256},
                          Case{"gemma3-4b", "gemma3", 2560, 8, 4, 256, 10240, 0, 1024, 256},
                          Case{"phi4-mini", "phi3", 3072, 24, 8, 128, 8192, 0, 0, 96},
                          Case{"qwen3.5-9b", "qwen35", 4096, 16, 4, 256, 12288, 0, 0, 64},
                          Case{"qwen3.6-35b-a3b", "qwen35moe", 2048, 16, 2, 256, 512, 512, 0, 64}}) {
        SCOPED_TRACE(c.preset);
        const std::string path = (dir / (std::string(c.preset) + ".gguf")).string();
        SynthOptions o = options_for(c.preset, "Q4_0");
        o.preset.n_layer = o.preset.full_attention_interval > 0 ? 4 : 2;  // hybrids: 3 delta-net, 1 attention
        o.preset.n_vocab = 1024;
        if (o.preset.n_expert > 0) {
            o.preset.n_expert = 4;
            o.preset.n_expert_used = 2;
        }
        synthesize_model(o, path);
        LoadedModel lm = load_model(path);
        const HParams& hp = lm.model->hparams();
        EXPECT_EQ(hp.arch_name, c.arch);
        EXPECT_EQ(hp.n_embd, c.n_embd);
        EXPECT_EQ(hp.n_head, c.n_head);
        EXPECT_EQ(hp.n_head_kv, c.n_head_kv);
        EXPECT_EQ(hp.head_dim, c.head_dim);
        EXPECT_EQ(hp.n_ff_exp, c.n_ff_exp);
        if (c.n_ff_exp == 0) {
            EXPECT_EQ(hp.n_ff, c.n_ff);
        }
        EXPECT_EQ(hp.n_swa, c.n_swa);
        EXPECT_EQ(hp.rope.n_rot, c.n_rot);
        expect_finite(run_tokens(lm, {1, 100, 200}), c.preset);
    }
    auto gptoss = gguf::File::open((dir / "gpt-oss-20b.gguf").string());
    EXPECT_EQ(gptoss->find_tensor("blk.0.ffn_gate_exps.weight")->shape_string(), "[2880, 2880, 4]");
    EXPECT_EQ(gptoss->find_tensor("blk.1.attn_sinks.weight")->shape_string(), "[64]");
    EXPECT_EQ(gptoss->find_tensor("blk.0.ffn_down_exps.bias")->shape_string(), "[2880, 4]");
    EXPECT_EQ(*gptoss->get_string("gpt-oss.rope.scaling.type"), "yarn");
    auto phi = gguf::File::open((dir / "phi4-mini.gguf").string());
    EXPECT_EQ(phi->find_tensor("blk.0.attn_qkv.weight")->shape_string(), "[3072, 5120]");
    EXPECT_EQ(phi->find_tensor("blk.0.ffn_up.weight")->shape_string(), "[3072, 16384]");
    EXPECT_EQ(phi->find_tensor("rope_factors_long.weight")->shape_string(), "[48]");
    EXPECT_EQ(phi->find_tensor("output.weight"), nullptr);
    auto q35 = gguf::File::open((dir / "qwen3.5-9b.gguf").string());
    EXPECT_EQ(q35->find_tensor("blk.0.attn_qkv.weight")->shape_string(), "[4096, 8192]");  // 2·16·128 + 32·128
    EXPECT_EQ(q35->find_tensor("blk.0.ssm_conv1d.weight")->shape_string(), "[4, 8192]");
    EXPECT_EQ(q35->find_tensor("blk.0.ssm_a")->shape_string(), "[32]");
    EXPECT_EQ(q35->find_tensor("blk.0.attn_q.weight"), nullptr);  // a delta-net layer
    EXPECT_EQ(q35->find_tensor("blk.3.attn_q.weight")->shape_string(), "[4096, 8192]");  // q and gate
    EXPECT_EQ(q35->find_tensor("blk.3.ssm_a"), nullptr);
    EXPECT_EQ(q35->get_i64_array("qwen35.rope.dimension_sections").size(), 4u);
    auto q36 = gguf::File::open((dir / "qwen3.6-35b-a3b.gguf").string());
    EXPECT_EQ(q36->find_tensor("blk.0.ffn_gate_inp_shexp.weight")->shape_string(), "[2048]");
    EXPECT_EQ(q36->find_tensor("blk.0.ffn_down_shexp.weight")->shape_string(), "[512, 2048]");
    fs::remove_all(dir);
}

TEST(Synth, FullPresetMetadataMatchesConfig) {
    // Only the metadata is checked here; a Q2_K llama3-8b file would be 2.7 GB. One layer and a
    // small vocabulary keep the file small while every key reflects the preset.
    auto dir = test::temp_dir();
    const std::string path = (dir / "llama3-8b.gguf").string();
    SynthOptions o = options_for("llama3-8b", "Q8_0");
    o.preset.n_layer = 1;
    o.preset.n_vocab = 300;
    synthesize_model(o, path);
    auto f = gguf::File::open(path);
    EXPECT_EQ(f->require_u64("llama.embedding_length"), 4096u);
    EXPECT_EQ(f->require_u64("llama.feed_forward_length"), 14336u);
    EXPECT_EQ(f->require_u64("llama.attention.head_count"), 32u);
    EXPECT_EQ(f->require_u64("llama.attention.head_count_kv"), 8u);
    EXPECT_EQ(f->require_u64("llama.context_length"), 131072u);
    EXPECT_EQ(f->require_u64("llama.rope.dimension_count"), 128u);
    EXPECT_EQ(f->require_u64("llama.vocab_size"), 300u);
    EXPECT_DOUBLE_EQ(*f->get_f64("llama.rope.freq_base"), 500000.0);
    EXPECT_NEAR(*f->get_f64("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-12);
    EXPECT_NE(f->find_tensor("output.weight"), nullptr);
    EXPECT_EQ(f->find_tensor("rope_freqs.weight")->n_elements, 64);
    fs::remove_all(dir);
}

TEST(Synth, RopeFreqsMatchTheLlama3Converter) {
    // synth-llama3-256 was written with the factors llama.cpp's converter computes for
    // factor 8, low 1, high 4, original context 8192, base 500000, head dim 32: as tiny-llama3.
    HEARTH_SHARED_OR_SKIP(golden, "golden/synth-llama3-256-F32.gguf");
    auto f = gguf::File::open(golden);
    const gguf::TensorInfo* t = f->find_tensor("rope_freqs.weight");
    ASSERT_NE(t, nullptr);
    std::vector<float> want(static_cast<size_t>(t->n_elements));
    std::memcpy(want.data(), t->data, want.size() * 4);
    std::vector<float> got = llama3_rope_factors(find_model_preset("tiny-llama3"));
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * want[i]) << i;
}

TEST(Synth, WeightsAreSane) {
    auto dir = test::temp_dir();
    const std::string path = (dir / "f32.gguf").string();
    SynthOptions o = options_for("tiny", "F32");
    synthesize_model(o, path);
    auto f = gguf::File::open(path);
    auto stats = [&](const char* name) {
        const gguf::TensorInfo* t = f->find_tensor(name);
        const float* v = reinterpret_cast<const float*>(t->data);
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < t->n_elements; ++i) sum += v[i], sq += double(v[i]) * v[i];
        const double mean = sum / t->n_elements;
        return std::pair{mean, std::sqrt(sq / t->n_elements - mean * mean)};
    };
    auto [m_q, s_q] = stats("blk.0.attn_q.weight");  // N(0, 1/256)
    EXPECT_NEAR(m_q, 0.0, 0.01);
    EXPECT_NEAR(s_q, 1.0 / 16, 0.01);
    auto [m_d, s_d] = stats("blk.1.ffn_down.weight");  // N(0, 1/768)
    EXPECT_NEAR(s_d, 1.0 / std::sqrt(768.0), 0.01);
    auto [m_n, s_n] = stats("blk.0.attn_norm.weight");
    EXPECT_NEAR(m_n, 1.0, 0.05);
    EXPECT_LT(s_n, 0.2);
    fs::remove_all(dir);
}

TEST(Synth, SameSeedSameFileDifferentSeedDifferentWeights) {
    auto dir = test::temp_dir();
    SynthOptions o = options_for("tiny", "Q4_K_M");
    synthesize_model(o, (dir / "a.gguf").string());
    synthesize_model(o, (dir / "b.gguf").string());
    o.seed = 2;
    synthesize_model(o, (dir / "c.gguf").string());
    const std::string a = test::read_file(dir / "a.gguf"), b = test::read_file(dir / "b.gguf"),
                      c = test::read_file(dir / "c.gguf");
    EXPECT_EQ(a, b);
    EXPECT_EQ(a.size(), c.size());
    EXPECT_NE(a, c);
    fs::remove_all(dir);
}

TEST(Synth, SyntheticVocabularyIsCompleteSentencePiece) {
    auto dir = test::temp_dir();
    const std::string path = (dir / "v.gguf").string();
    SynthOptions o = options_for("tiny", "Q8_0");
    o.preset.n_vocab = 2000;
    synthesize_model(o, path);
    LoadedModel lm = load_model(path);
    const gguf::File& f = *lm.file;
    EXPECT_EQ(f.require_string("tokenizer.ggml.model"), "llama");
    auto tokens = f.get_string_array("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens.size(), 2000u);
    EXPECT_EQ(tokens[0], "<unk>");
    EXPECT_EQ(tokens[1], "<s>");
    EXPECT_EQ(tokens[2], "</s>");
    EXPECT_EQ(tokens[3], "<0x00>");
    EXPECT_EQ(tokens[3 + 0x0A], "<0x0A>");
    EXPECT_EQ(tokens[258], "<0xFF>");
    EXPECT_EQ(f.get_f64_array("tokenizer.ggml.scores").size(), 2000u);
    EXPECT_EQ(f.get_i64_array("tokenizer.ggml.token_type").size(), 2000u);
    EXPECT_EQ(f.require_u64("tokenizer.ggml.bos_token_id"), 1u);
    EXPECT_EQ(f.require_u64("tokenizer.ggml.eos_token_id"), 2u);
    EXPECT_EQ(lm.tokenizer->bos(), 1);
    EXPECT_EQ(lm.tokenizer->eos(), 2);
    // Any text tokenizes (falling back to byte tokens) and round-trips.
    auto ids = lm.tokenizer->encode("hello world\n", true);
    ASSERT_GE(ids.size(), 2u);
    EXPECT_EQ(ids[0], 1);
    for (int32_t id : ids) EXPECT_LT(id, 2000);
    fs::remove_all(dir);
}

TEST(Synth, VocabularyFromAnotherFile) {
    HEARTH_SHARED_OR_SKIP(source, "models/stories260K.gguf");
    auto dir = test::temp_dir();
    const std::string path = (dir / "v.gguf").string();
    SynthOptions o = options_for("tiny", "Q4_0");
    o.vocab_from = source;
    SynthResult r = synthesize_model(o, path);
    auto src = gguf::File::open(source);
    const int n = static_cast<int>(src->get_string_array("tokenizer.ggml.tokens").size());
    EXPECT_EQ(r.n_vocab, n);
    auto f = gguf::File::open(path);
    for (const auto& kv : src->metadata()) {
        if (kv.key.rfind("tokenizer.", 0) != 0) continue;
        const gguf::Value* v = f->find(kv.key);
        ASSERT_NE(v, nullptr) << kv.key;
        EXPECT_EQ(v->type, kv.value.type) << kv.key;
        EXPECT_EQ(v->array.size(), kv.value.array.size()) << kv.key;
        EXPECT_EQ(v->str, kv.value.str) << kv.key;
        EXPECT_EQ(v->bits, kv.value.bits) << kv.key;
    }
    EXPECT_EQ(f->find_tensor("token_embd.weight")->dims[1], n);
    LoadedModel lm = load_model(path);
    expect_finite(run_tokens(lm, {1, 2, 3}), "vocab-from");
    fs::remove_all(dir);
}

TEST(Synth, BadRequestsAreClearErrors) {
    auto dir = test::temp_dir();
    EXPECT_THROW(find_model_preset("llama9-1t"), Error);
    EXPECT_THROW(find_quant_mix("Q9_9"), Error);
    SynthOptions o = options_for("tiny", "Q4_0");
    o.preset.n_vocab = 100;
    EXPECT_THROW(synthesize_model(o, (dir / "x.gguf").string()), Error);
    o = options_for("tiny", "Q4_0");
    try {
        synthesize_model(o, (dir / "no-such-dir" / "x.gguf").string());
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no-such-dir"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(fs::is_empty(dir));
    fs::remove_all(dir);
}

TEST(SynthCli, WritesTheFileAndASummary) {
    auto dir = test::temp_dir();
    const std::string path = (dir / "cli.gguf").string();
    auto r = test::run_process({HEARTH_BINARY, "synth", "--preset", "tiny", "--type", "q4_k_m", "-o", path,
                                "--layers", "3", "--ctx", "1024", "--seed", "7"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Q4_K_M"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("params"), std::string::npos) << r.out;
    auto f = gguf::File::open(path);
    EXPECT_EQ(f->require_u64("llama.block_count"), 3u);
    EXPECT_EQ(f->require_u64("llama.context_length"), 1024u);

    r = test::run_process({HEARTH_BINARY, "synth", "--preset", "nope", "--type", "Q4_0", "-o", path});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("llama3-1b"), std::string::npos) << r.err;
    r = test::run_process({HEARTH_BINARY, "synth", "--preset", "tiny", "--type", "Q7", "-o", path});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("Q4_K_M"), std::string::npos) << r.err;
    fs::remove_all(dir);
}

}  // namespace
}  // namespace hearth::convert
