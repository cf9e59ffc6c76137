// The loader's answers to files that do not match their architecture's manifest: each is one
// clear error naming the file, tensor or key and what was expected, never a crash. The files
// are the golden arch models (../shared/golden/arch) rewritten in memory with one defect each.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "convert/quant_mix.h"
#include "convert/synth.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "model/arch.h"
#include "model/model.h"
#include "tensor/types.h"
#include "test_support.h"

namespace hearth {
namespace {

using gguf::make::string;
using gguf::make::u32;

struct Edit {
    std::function<void(gguf::Writer&)> metadata;                      // may replace keys
    std::function<bool(const gguf::TensorInfo&, gguf::Writer&)> tensor;  // true: handled (added or dropped)
};

// Loads `source` rewritten by `edit` and returns the loader's error ("" when it loaded).
std::string load_error(const std::string& source, const Edit& edit) {
    auto src = gguf::File::open(source);
    gguf::Writer w;
    for (const auto& kv : src->metadata()) w.set(kv.key, kv.value);
    if (edit.metadata) edit.metadata(w);
    for (const auto& t : src->tensors()) {
        if (edit.tensor && edit.tensor(t, w)) continue;
        w.add_tensor(t.name, t.type_id, t.dims, std::vector<uint8_t>(t.data, t.data + t.n_bytes));
    }
    auto bytes = std::make_shared<std::vector<uint8_t>>(w.to_bytes());
    auto file = gguf::File::parse("edited.gguf", bytes->data(), bytes->size());
    try {
        std::shared_ptr<const gguf::File> shared(file.release());
        Model::load(shared);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

#define EXPECT_MENTIONS(error, ...)                                          \
    for (const char* part : {__VA_ARGS__}) {                                 \
        EXPECT_TRUE(contains(error, part)) << "'" << part << "' not in: " << error; \
    }

TEST(ModelLoad, TheUnmodifiedGoldenFilesLoad) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-qwen3moe-256-F32.gguf");
    EXPECT_EQ(load_error(path, {}), "");
}

TEST(ModelLoad, UnknownArchitectureNamesTheSupportedOnes) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-gemma3-256-F32.gguf");
    const std::string e = load_error(path, {[](gguf::Writer& w) { w.set("general.architecture", string("mamba")); }, {}});
    EXPECT_MENTIONS(e, "mamba", "llama", "qwen3moe", "gpt-oss", "gemma3", "phi3");
    EXPECT_EQ(e.find('\n'), std::string::npos) << "one line";
}

TEST(ModelLoad, MissingExpertStackIsNamed) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-qwen3moe-256-F32.gguf");
    const std::string e = load_error(path, {{}, [](const gguf::TensorInfo& t, gguf::Writer&) {
                                                return t.name == "blk.1.ffn_up_exps.weight";
                                            }});
    EXPECT_MENTIONS(e, "edited.gguf", "blk.1.ffn_up_exps.weight");
}

TEST(ModelLoad, MisShapedTensorGivesExpectedAndActualShape) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-gemma3-256-F32.gguf");
    const std::string e = load_error(path, {{}, [](const gguf::TensorInfo& t, gguf::Writer& w) {
                                                if (t.name != "blk.2.attn_q.weight") return false;
                                                w.add_tensor(t.name, t.type_id, {256, 96},
                                                             std::vector<uint8_t>(256 * 96 * 4));
                                                return true;
                                            }});
    EXPECT_MENTIONS(e, "blk.2.attn_q.weight", "[256, 128]", "[256, 96]");
}

TEST(ModelLoad, FusedQkvWithTheWrongRowCount) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-phi4mini-256-F32.gguf");
    const std::string e = load_error(path, {{}, [](const gguf::TensorInfo& t, gguf::Writer& w) {
                                                if (t.name != "blk.0.attn_qkv.weight") return false;
                                                w.add_tensor(t.name, t.type_id, {256, 320},
                                                             std::vector<uint8_t>(256 * 320 * 4));
                                                return true;
                                            }});
    EXPECT_MENTIONS(e, "blk.0.attn_qkv.weight", "[256, 384]", "[256, 320]");
}

// Hybrids: the layer pattern comes from metadata, so a pattern that disagrees with the file
// shows up as the first tensor the pattern expects and the file lacks.
TEST(ModelLoad, HybridLayerPatternThatDisagreesWithTheTensors) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-qwen35-256-F32.gguf");
    // Every 2nd layer attends: layer 1 (a delta-net layer in the file) would need attn_q.
    const std::string e =
        load_error(path, {[](gguf::Writer& w) { w.set("qwen35.full_attention_interval", u32(2)); }, {}});
    EXPECT_MENTIONS(e, "edited.gguf", "missing tensor", "blk.1.attn_q.weight");
}

TEST(ModelLoad, HybridMissingStateTensorIsNamed) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-qwen35moe-256-F32.gguf");
    const std::string e = load_error(path, {{}, [](const gguf::TensorInfo& t, gguf::Writer&) {
                                                return t.name == "blk.2.ssm_conv1d.weight";
                                            }});
    EXPECT_MENTIONS(e, "blk.2.ssm_conv1d.weight", "[4, 256]");
}

TEST(ModelLoad, HybridInconsistentSsmSizes) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-qwen35-256-F32.gguf");
    const std::string e = load_error(path, {[](gguf::Writer& w) { w.set("qwen35.ssm.inner_size", u32(100)); }, {}});
    EXPECT_MENTIONS(e, "ssm.inner_size", "100");
    const std::string bad_list = load_error(
        path, {[](gguf::Writer& w) {
                   w.set("qwen35.attention.recurrent_layers",
                         gguf::make::array(gguf::ValueType::BOOL, {gguf::make::boolean(true)}));
               },
               {}});
    EXPECT_MENTIONS(bad_list, "recurrent_layers", "1 entries", "4 layers");
}

TEST(ModelLoad, ExpertCountThatDisagreesWithTheTensors) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-qwen3moe-256-F32.gguf");
    const std::string e = load_error(path, {[](gguf::Writer& w) { w.set("qwen3moe.expert_count", u32(4)); }, {}});
    EXPECT_MENTIONS(e, "ffn_gate_inp", "4");
}

TEST(ModelLoad, MoreExpertsUsedThanThereAre) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-mixtral-256-F32.gguf");
    const std::string e = load_error(path, {[](gguf::Writer& w) { w.set("llama.expert_used_count", u32(9)); }, {}});
    EXPECT_MENTIONS(e, "expert_used_count", "9");
}

TEST(ModelLoad, MoeFamilyWithoutExperts) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-gptoss-256-F32.gguf");
    const std::string e = load_error(path, {[](gguf::Writer& w) { w.set("gpt-oss.expert_count", u32(0)); }, {}});
    EXPECT_MENTIONS(e, "gpt-oss", "expert_count");
}

TEST(ModelLoad, ABlockCountBeyondTheTensorsIsRefusedBeforeAnythingIsSized) {
    // Found by model_load_fuzz: block_count = 2^29 once sized a vector of 2^29 layers.
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-qwen3moe-256-F32.gguf");
    const std::string e =
        load_error(path, {[](gguf::Writer& w) { w.set("qwen3moe.block_count", u32(1u << 29)); }, {}});
    EXPECT_MENTIONS(e, "block_count", "536870912");
}

TEST(ModelLoad, WidthsThatOverflowAreOutOfRange) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-gemma3-256-F32.gguf");
    const std::string e = load_error(path, {[](gguf::Writer& w) {
                                                w.set("gemma3.attention.head_count", u32(1u << 20));
                                                w.set("gemma3.attention.head_count_kv", u32(1u << 20));
                                                w.set("gemma3.attention.key_length", u32(1u << 20));
                                            },
                                            {}});
    EXPECT_MENTIONS(e, "head_count * key_length", "out of range");
}

TEST(ModelLoad, ATypeHearthCannotComputeIsNamed) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-gemma3-256-F32.gguf");
    // IQ2_XXS: 66 bytes per 256 values. A known GGUF type without kernels here.
    const std::string e = load_error(path, {{}, [](const gguf::TensorInfo& t, gguf::Writer& w) {
                                                if (t.name != "blk.0.ffn_up.weight") return false;
                                                w.add_tensor(t.name, 16, t.dims,
                                                             std::vector<uint8_t>(192 * 66));
                                                return true;
                                            }});
    EXPECT_MENTIONS(e, "blk.0.ffn_up.weight", "IQ2_XXS");
}

TEST(ModelLoad, EveryFamilyHasAManifestAndEveryRequiredTensorIsChecked) {
    // Dropping any one required tensor of any golden model is an error naming that tensor.
    for (const char* name : {"synth-qwen3moe-256-F32", "synth-gptoss-256-F32", "synth-mixtral-256-F32",
                             "synth-gemma3-256-F32", "synth-phi4mini-256-F32"}) {
        HEARTH_SHARED_OR_SKIP(path, std::string("golden/arch/") + name + ".gguf");
        auto src = gguf::File::open(path);
        for (const char* victim : {"blk.0.attn_norm.weight", "output_norm.weight", "token_embd.weight"}) {
            const std::string e = load_error(path, {{}, [&](const gguf::TensorInfo& t, gguf::Writer&) {
                                                        return t.name == victim;
                                                    }});
            EXPECT_MENTIONS(e, victim);
        }
    }
}

// Gemma 4's per-layer keys: each inconsistency is one line naming the key or the layers.
TEST(ModelLoad, Gemma4GeometryErrorsAreNamed) {
    convert::SynthOptions o;
    o.preset = convert::find_model_preset("tiny-gemma4");
    o.mix = &convert::find_quant_mix("F32");
    const std::string path = (test::temp_dir() / "g4.gguf").string();
    convert::synthesize_model(o, path);
    EXPECT_EQ(load_error(path, {}), "");
    using gguf::make::i32s;
    auto edit_keys = [&](std::function<void(gguf::Writer&)> f) { return load_error(path, {std::move(f), {}}); };
    std::string e = edit_keys([](gguf::Writer& w) { w.set("gemma4.attention.shared_kv_layers", u32(6)); });
    EXPECT_MENTIONS(e, "shared_kv_layers", "6");
    e = edit_keys([](gguf::Writer& w) {
        const int32_t kv[] = {2, 2, 1};
        w.set("gemma4.attention.head_count_kv", i32s(kv));
    });
    EXPECT_MENTIONS(e, "head_count_kv", "3 entries", "6 layers");
    e = edit_keys([](gguf::Writer& w) {
        const int32_t kv[] = {2, 2, 1, 2, 1, 1};  // layer 4 (window) would read layer 1's 2-head KV
        w.set("gemma4.attention.head_count_kv", i32s(kv));
    });
    EXPECT_MENTIONS(e, "layer 4", "layer 1");
    e = edit_keys([](gguf::Writer& w) { w.set("gemma4.attention.sliding_window_pattern", gguf::make::bools({true})); });
    EXPECT_MENTIONS(e, "sliding_window_pattern", "1 entries");
    e = edit_keys([](gguf::Writer& w) { w.set("gemma4.rope.dimension_count_swa", u32(48)); });
    EXPECT_MENTIONS(e, "rope.dimension_count_swa", "48");
    e = edit_keys([](gguf::Writer& w) { w.set("gemma4.expert_count", u32(8)); });
    EXPECT_MENTIONS(e, "expert_count", "dense FFN only");
    // A layer with its own KV needs its key projection; a sharing layer does not.
    e = load_error(path, {{}, [](const gguf::TensorInfo& t, gguf::Writer&) { return t.name == "blk.1.attn_k.weight"; }});
    EXPECT_MENTIONS(e, "blk.1.attn_k.weight");
    e = load_error(path, {{}, [](const gguf::TensorInfo& t, gguf::Writer&) { return t.name == "blk.4.attn_k.weight"; }});
    EXPECT_EQ(e, "");
    e = load_error(path, {{}, [](const gguf::TensorInfo& t, gguf::Writer&) { return t.name == "per_layer_model_proj.weight"; }});
    EXPECT_MENTIONS(e, "per_layer_model_proj.weight");
}

}  // namespace
}  // namespace hearth
