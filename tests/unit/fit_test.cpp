// hearth fit's library: weight sizes against published GGUF file sizes, the KV cache formula,
// the engine agreeing with the accounting functions, placement over devices, the largest
// fitting context, and the parsers' bad inputs.
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "common/error.h"
#include "convert/quant_mix.h"
#include "convert/synth.h"
#include "engine/loader.h"
#include "engine/session.h"
#include "model/kv_cache.h"
#include "fit/hardware.h"
#include "fit/model_catalogue.h"
#include "fit/plan.h"
#include "fit/weights.h"
#include "model/memory.h"
#include "test_support.h"

namespace hearth::fit {
namespace {

WeightLayout catalogue(const char* name, const char* quant) {
    return layout_from_catalogue(find_catalogue_model(name), convert::find_quant_mix(quant));
}

// A machine from flags, with fixed host numbers so results do not depend on the test machine.
Machine machine(const std::string& gpu, int n, const char* ram) {
    Machine host;
    host.cpu_name = "test CPU";
    host.cpu_threads = 8;
    host.cpu_tflops = 1;
    host.ram_bandwidth_gbps = 50;
    host.ram_bytes = host.ram_usable_bytes = uint64_t{8} << 30;
    return stated_machine(gpu, n, parse_memory_size(ram, "--ram"), host);
}

TEST(FitWeights, SeventyPointSixBillionParametersInF16Need141Point2GB) {
    ParamsShape s;
    s.n_params = parse_param_count("70.6B");
    const WeightLayout w = layout_from_params(s, convert::find_quant_mix("F16"));
    EXPECT_NEAR(static_cast<double>(w.weights_bytes()) / 1e9, 141.2, 141.2 * 0.001);
}

// Published sizes of llama.cpp quantizations (bartowski's / TheBloke's Hugging Face listings),
// in 1e9 bytes. The prediction (tensor bytes + metadata) must be within 2%.
struct Published {
    const char* model;
    const char* quant;
    double gb;
};
class FitPublishedSize : public testing::TestWithParam<Published> {};

TEST_P(FitPublishedSize, WithinTwoPercent) {
    const Published& p = GetParam();
    const WeightLayout w = catalogue(p.model, p.quant);
    const double gb = static_cast<double>(w.file_bytes()) / 1e9;
    EXPECT_NEAR(gb, p.gb, p.gb * 0.02) << p.model << " " << p.quant;
}

INSTANTIATE_TEST_SUITE_P(Known, FitPublishedSize,
                         testing::Values(Published{"llama3.1:8b", "Q4_K_M", 4.92}, Published{"llama3.1:8b", "Q8_0", 8.54},
                                         Published{"llama3.1:8b", "Q6_K", 6.60}, Published{"llama3.1:8b", "Q5_K_M", 5.73},
                                         Published{"llama3.1:8b", "Q2_K", 3.18}, Published{"llama3.1:8b", "F16", 16.07},
                                         Published{"llama3.1:70b", "Q4_K_M", 42.5}, Published{"llama3.1:70b", "Q3_K_S", 30.9},
                                         Published{"llama3.1:70b", "Q8_0", 74.98}, Published{"llama3.1:70b", "Q2_K", 26.38},
                                         Published{"mistral:7b", "Q4_K_M", 4.37}, Published{"qwen2.5:7b", "Q4_K_M", 4.68},
                                         Published{"qwen2.5:72b", "Q4_K_M", 47.42}, Published{"gemma2:9b", "Q4_K_M", 5.76},
                                         Published{"mixtral:8x7b", "Q8_0", 49.62}, Published{"llama3.2:1b", "Q4_K_M", 0.808},
                                         Published{"llama3.2:3b", "Q4_K_M", 2.02}, Published{"qwen3:8b", "Q4_K_M", 5.03},
                                         Published{"phi4:14b", "Q4_K_M", 9.05}, Published{"gemma3:1b", "Q4_K_M", 0.806}));

TEST(FitWeights, SeventyBillionAttnVIsLiftedToQ5KAsLlamaQuantizeDoes) {
    convert::ModelShape shape;
    shape.n_layer = 80;
    shape.n_gqa = 8;
    shape.is_70b = true;
    const auto& q3ks = convert::find_quant_mix("Q3_K_S");
    EXPECT_EQ(convert::choose_tensor_type(q3ks, "blk.5.attn_v.weight", 8192, shape, false), TensorType::Q5_K);
    EXPECT_EQ(convert::choose_tensor_type(q3ks, "blk.5.attn_q.weight", 8192, shape, false), TensorType::Q3_K);
    shape.is_70b = false;
    EXPECT_EQ(convert::choose_tensor_type(q3ks, "blk.5.attn_v.weight", 8192, shape, false), TensorType::Q3_K);
    shape.n_expert = 8;
    EXPECT_EQ(convert::choose_tensor_type(q3ks, "blk.5.attn_k.weight", 4096, shape, false), TensorType::Q8_0);
    EXPECT_EQ(convert::choose_tensor_type(q3ks, "blk.5.attn_output.weight", 4096, shape, false), TensorType::Q5_K);
}

TEST(FitWeights, MoeReadsOnlyTheRoutedExperts) {
    const WeightLayout w = catalogue("mixtral:8x7b", "Q8_0");
    EXPECT_GT(w.expert_bytes, w.weights_bytes() / 2);
    // 2 of 8 experts: about 13B of 47B parameters are read per token.
    const double active = static_cast<double>(w.active_bytes_per_token()) / static_cast<double>(w.weights_bytes());
    EXPECT_NEAR(active, 13.0 / 46.7, 0.03);
}

TEST(FitWeights, FileLayoutMatchesTheTensorDirectoryExactly) {
    HEARTH_SHARED_OR_SKIP(path, "models/stories260K.gguf");
    auto file = gguf::File::open(path);
    const WeightLayout w = layout_from_file(*file);
    uint64_t sum = 0;
    for (const auto& t : file->tensors()) sum += t.n_bytes;
    EXPECT_EQ(w.weights_bytes(), sum);
    EXPECT_EQ(w.header_bytes, file->data_offset());
    EXPECT_EQ(w.layer_bytes.size(), 5u);
    EXPECT_GT(w.metadata_heap_bytes, 0u);
    EXPECT_EQ(w.hp.n_vocab, 512);
}

TEST(FitKvCache, MatchesTheFormulaExactly) {
    const WeightLayout w = catalogue("llama3.1:8b", "Q4_K_M");
    // 2 × 32 layers × 8192 ctx × 8 kv heads × 128 head dim × 2 bytes.
    EXPECT_EQ(memory::kv_cache_bytes(w.hp, 8192, type_traits(TensorType::F16)), uint64_t{2} * 32 * 8192 * 8 * 128 * 2);
    EXPECT_EQ(memory::kv_cache_bytes(w.hp, 8192, type_traits(TensorType::F32)), uint64_t{2} * 32 * 8192 * 8 * 128 * 4);
    // q8_0: 34 bytes per 32 elements; q4_0: 18.
    EXPECT_EQ(memory::kv_cache_bytes(w.hp, 1000, type_traits(TensorType::Q8_0)), uint64_t{2} * 32 * 1000 * 1024 / 32 * 34);
    EXPECT_EQ(memory::kv_cache_bytes(w.hp, 1000, type_traits(TensorType::Q4_0)), uint64_t{2} * 32 * 1000 * 1024 / 32 * 18);
    FitOptions o;
    o.n_ctx = 8192;
    o.parallel = 3;
    const FitResult r = fit_model(w, machine("", 1, "64G"), o);
    EXPECT_EQ(r.breakdown.kv_cache, uint64_t{3} * 2 * 32 * 8192 * 8 * 128 * 2);
}

TEST(FitKvCache, EngineAllocatesWhatTheAccountingPredicts) {
    HEARTH_SHARED_OR_SKIP(path, "golden/synth-qwen2-256-F32.gguf");
    LoadedModel lm = load_model(path);
    const HParams& hp = lm.model->hparams();
    SessionOptions so;
    so.n_ctx = 300;
    so.n_threads = 1;
    Session session(*lm.model, so);
    EXPECT_EQ(session.cache().bytes(), memory::kv_cache_bytes(hp, 300, ops::KvType::F16));
    EXPECT_EQ(session.memory().kv_cache, memory::kv_cache_bytes(hp, 300, ops::KvType::F16));
    EXPECT_EQ(KvCache(hp, 77, ops::KvType::F32).bytes(), memory::kv_cache_bytes(hp, 77, ops::KvType::F32));
    // The loader's float copies (norms and the qwen2 biases).
    EXPECT_EQ(lm.model->host_copy_bytes(), memory::model_host_copy_bytes(hp, [&](const TensorInstance& t) { return lm.model->file().find_tensor(t.name) != nullptr; }));
}

TEST(FitKvCache, HostCopiesOfQkNormsAreCounted) {
    HEARTH_SHARED_OR_SKIP(path, "golden/synth-qwen3-256-F32.gguf");
    LoadedModel lm = load_model(path);
    EXPECT_EQ(lm.model->host_copy_bytes(),
              memory::model_host_copy_bytes(lm.model->hparams(), [&](const TensorInstance& t) { return lm.model->file().find_tensor(t.name) != nullptr; }));
}

// tiny-gemma4 (convert/synth.cpp): 6 layers, window layers 0, 1, 3, 4 (2 KV heads of 32),
// global 2 and 5 (1 KV head of 64); layers 3-5 reuse the KV of 1 and 2. So layers 0, 1 (window)
// and 2 (global) store KV, per position and layer 2 × kv heads × head dim × 2 B (f16):
// window 2 × 2 × 32 × 2 = 256 B, global 2 × 1 × 64 × 2 = 256 B.
std::string write_tiny_gemma4(const std::filesystem::path& dir) {
    convert::SynthOptions o;
    o.preset = convert::find_model_preset("tiny-gemma4");
    o.mix = &convert::find_quant_mix("F32");
    const std::string path = (dir / "tiny-gemma4.gguf").string();
    convert::synthesize_model(o, path);
    return path;
}

TEST(FitKvCache, PerLayerKindsOfGemma4SumToTheTotal) {
    const std::string path = write_tiny_gemma4(test::temp_dir());
    auto file = gguf::File::open(path);
    const WeightLayout w = layout_from_file(*file);
    FitOptions o;
    o.n_ctx = 1000;
    o.parallel = 2;
    const FitResult r = fit_model(w, machine("", 1, "16G"), o);
    const memory::KvBreakdown& k = r.breakdown.kv_layers;
    ASSERT_EQ(k.groups.size(), 2u);
    EXPECT_TRUE(k.groups[0].window);
    EXPECT_EQ(k.groups[0].n_layers, 2);
    EXPECT_EQ(k.groups[0].n_head_kv, 2);
    EXPECT_EQ(k.groups[0].head_dim, 32);
    EXPECT_EQ(k.groups[0].bytes, size_t{2} * 1000 * 2 * 256);  // 2 sequences × ctx × 2 layers × 256 B
    EXPECT_FALSE(k.groups[1].window);
    EXPECT_EQ(k.groups[1].n_layers, 1);
    EXPECT_EQ(k.groups[1].n_head_kv, 1);
    EXPECT_EQ(k.groups[1].head_dim, 64);
    EXPECT_EQ(k.groups[1].bytes, size_t{2} * 1000 * 1 * 256);
    EXPECT_EQ(k.n_sharing, 3);
    EXPECT_EQ(k.n_recurrent, 0);
    EXPECT_EQ(r.breakdown.kv_cache, k.groups[0].bytes + k.groups[1].bytes);
    // The engine's cache is that size: window layers keep every position too.
    LoadedModel lm = load_model(path);
    EXPECT_EQ(KvCache(lm.model->hparams(), 1000, ops::KvType::F16).bytes() * 2, r.breakdown.kv_cache);
}

TEST(FitWeights, PerLayerEmbeddingTableIsItsOwnLineAndReadARowPerToken) {
    const std::string path = write_tiny_gemma4(test::temp_dir());
    auto file = gguf::File::open(path);
    const WeightLayout w = layout_from_file(*file);
    const gguf::TensorInfo* table = file->find_tensor("per_layer_token_embd.weight");
    ASSERT_NE(table, nullptr);
    // 512 tokens × (6 layers × 64) F32 values.
    EXPECT_EQ(w.ple_embd_bytes, uint64_t{512} * 6 * 64 * 4);
    EXPECT_EQ(w.ple_embd_bytes, table->n_bytes);
    EXPECT_EQ(w.ple_embd_row_bytes, uint64_t{6} * 64 * 4);
    uint64_t sum = 0;
    for (const auto& t : file->tensors()) sum += t.n_bytes;
    EXPECT_EQ(w.weights_bytes(), sum);  // in the total once
    // Tied embeddings: token_embd is read whole (the output head); of the table one row.
    EXPECT_EQ(w.active_bytes_per_token(), sum - w.ple_embd_bytes + w.ple_embd_row_bytes);
    // Resident: the table's pages are not, like an untied token_embd's.
    const FitResult r = fit_model(w, machine("", 1, "16G"), {});
    EXPECT_EQ(r.predicted_rss, r.breakdown.total() - w.ple_embd_bytes);
}

TEST(FitCatalogue, Gemma4ShapesAreTheSynthPresets) {
    for (const auto& [name, preset] : {std::pair{"gemma4:e2b", "gemma4-e2b"}, std::pair{"gemma4:e4b", "gemma4-e4b"},
                                       std::pair{"gemma4:31b", "gemma4-31b"}}) {
        SCOPED_TRACE(name);
        const CatalogueModel& m = find_catalogue_model(name);
        EXPECT_FALSE(m.provenance.empty());  // no published GGUF size to check against
        const HParams want = convert::preset_hparams(convert::find_model_preset(preset));
        const WeightLayout w = layout_from_catalogue(m, convert::find_quant_mix("Q4_K_M"));
        EXPECT_EQ(w.hp.n_layer, want.n_layer);
        EXPECT_EQ(w.hp.n_kv_shared, want.n_kv_shared);
        EXPECT_EQ(w.hp.n_embd_per_layer, want.n_embd_per_layer);
        EXPECT_EQ(memory::kv_cache_bytes(w.hp, 4096, ops::KvType::F16), memory::kv_cache_bytes(want, 4096, ops::KvType::F16));
        if (want.n_embd_per_layer > 0) {
            EXPECT_GT(w.ple_embd_bytes, uint64_t{1} << 30);  // ~1.5 GiB of a 262144-token vocabulary
            EXPECT_EQ(w.ple_embd_bytes, w.ple_embd_row_bytes * static_cast<uint64_t>(want.n_vocab));
            EXPECT_EQ(w.active_bytes_per_token(), w.weights_bytes() - w.ple_embd_bytes + w.ple_embd_row_bytes);
        } else {
            EXPECT_EQ(w.ple_embd_bytes, 0u);
        }
    }
    // --params never takes a per-layer family's shape as its base.
    ParamsShape s;
    s.n_params = 4e9;
    EXPECT_EQ(layout_from_params(s, convert::find_quant_mix("Q4_K_M")).ple_embd_bytes, 0u);
}

TEST(FitPlacement, EightBillionFitsOneRtx4090) {
    const FitResult r = fit_model(catalogue("llama3.1:8b", "Q4_K_M"), machine("RTX 4090", 1, "32G"), {});
    EXPECT_TRUE(r.placement.fits);
    EXPECT_EQ(r.placement.gpu_layers, 32);
    EXPECT_EQ(r.placement.cpu_layers, 0);
    EXPECT_TRUE(r.placement.output_on_gpu);
    ASSERT_EQ(r.placement.devices.size(), 2u);
    EXPECT_EQ(r.placement.devices[1].name, "CPU");
    EXPECT_GT(r.est_tg_ts, 50);
    EXPECT_LT(r.est_tg_ts, 250);
}

TEST(FitPlacement, TwoGpusShareTheLayersInProportion) {
    const FitResult r = fit_model(catalogue("llama3.1:70b", "Q3_K_S"), machine("RTX 4090", 2, "64G"), {});
    EXPECT_TRUE(r.placement.fits);
    EXPECT_EQ(r.placement.gpu_layers, 80);
    ASSERT_EQ(r.placement.devices.size(), 3u);
    EXPECT_EQ(r.placement.devices[0].layers, 40);
    EXPECT_EQ(r.placement.devices[1].layers, 40);
    for (const DeviceUse& d : r.placement.devices) EXPECT_LE(d.bytes, d.capacity) << d.name;
}

TEST(FitPlacement, SeventyBillionQ4KMOnOne4090SplitsWithTheCpu) {
    const FitResult r = fit_model(catalogue("llama3.1:70b", "Q4_K_M"), machine("RTX 4090", 1, "64G"), {});
    EXPECT_TRUE(r.placement.fits);
    EXPECT_GT(r.placement.gpu_layers, 30);
    EXPECT_LT(r.placement.gpu_layers, 50);
    EXPECT_EQ(r.placement.gpu_layers + r.placement.cpu_layers, 80);
    EXPECT_FALSE(r.placement.output_on_gpu);
    EXPECT_LE(r.placement.devices[0].bytes, r.placement.devices[0].capacity);
    // Partial offload is slower than either memory alone would make a full-GPU run.
    const FitResult full = fit_model(catalogue("llama3.1:70b", "Q4_K_M"), machine("H200", 1, "64G"), {});
    EXPECT_EQ(full.placement.cpu_layers, 0);
    EXPECT_GT(full.est_tg_ts, 5 * r.est_tg_ts);
}

TEST(FitPlacement, DoesNotFitSaysByHowMuch) {
    const FitResult r = fit_model(catalogue("llama3.1:405b", "Q4_K_M"), machine("RTX 4090", 1, "64G"), {});
    EXPECT_FALSE(r.placement.fits);
    EXPECT_GT(r.placement.shortfall, uint64_t{100} << 30);
    EXPECT_NE(r.placement.summary().find("does not fit"), std::string::npos);
}

TEST(FitPlacement, CpuOnlyHoldsEverythingInRam) {
    const WeightLayout w = catalogue("llama3.2:1b", "Q8_0");
    const FitResult r = fit_model(w, machine("", 1, "16G"), {});
    ASSERT_EQ(r.placement.devices.size(), 1u);
    EXPECT_EQ(r.placement.cpu_layers, 16);
    EXPECT_EQ(r.placement.devices[0].bytes, r.breakdown.total());
}

TEST(FitContext, LargestFittingContextIsTheBoundary) {
    const WeightLayout w = catalogue("llama3.1:8b", "Q4_K_M");
    const Machine m = machine("", 1, "16G");
    FitOptions o;
    o.n_ctx = 131072;
    EXPECT_FALSE(fit_model(w, m, o).placement.fits);
    const int64_t best = largest_fitting_ctx(w, m, o, false);
    ASSERT_GT(best, 4096);
    o.n_ctx = best;
    EXPECT_TRUE(fit_model(w, m, o).placement.fits);
    o.n_ctx = best + 1;
    EXPECT_FALSE(fit_model(w, m, o).placement.fits);
}

TEST(FitContext, DefaultContextIsTheEngines) {
    const WeightLayout w = catalogue("llama3.1:8b", "Q4_K_M");
    EXPECT_EQ(fit_model(w, machine("", 1, "16G"), {}).n_ctx, resolve_context_size(w.hp, 0));
}

TEST(FitHardware, CheapestHardwareReachesTheSpeed) {
    const WeightLayout w = catalogue("llama3.1:70b", "Q4_K_M");
    const auto options = cheapest_hardware(w, {}, 15, 5);
    ASSERT_FALSE(options.empty());
    for (size_t i = 0; i < options.size(); ++i) {
        EXPECT_GE(options[i].result.est_tg_ts, 15) << options[i].name;
        EXPECT_TRUE(options[i].result.placement.fits);
        if (i > 0) {
            EXPECT_LE(options[i - 1].price_usd, options[i].price_usd);
        }
    }
}

TEST(FitParse, MemorySizes) {
    EXPECT_EQ(parse_memory_size("64G", "--ram"), uint64_t{64} << 30);
    EXPECT_EQ(parse_memory_size("64GB", "--ram"), uint64_t{64} << 30);
    EXPECT_EQ(parse_memory_size("512m", "--ram"), uint64_t{512} << 20);
    EXPECT_EQ(parse_memory_size("1.5T", "--ram"), uint64_t{3} << 39);
    EXPECT_EQ(parse_memory_size("4096", "--ram"), 4096u);
    for (const char* bad : {"64X", "", "G", "-4G", "0", "1e99T", "6 4G", "64GG"})
        EXPECT_THROW(parse_memory_size(bad, "--ram"), Error) << bad;
}

TEST(FitParse, ParamsShapeBeyondAnyModelIsAnError) {
    ParamsShape s;
    s.n_params = 7e9;
    s.n_layer = 2000000000;
    EXPECT_THROW(layout_from_params(s, convert::find_quant_mix("F16")), Error);
    s.n_layer = 32;
    s.n_params = 1e300;
    EXPECT_THROW(layout_from_params(s, convert::find_quant_mix("F16")), Error);
}

TEST(FitParse, ParameterCounts) {
    EXPECT_DOUBLE_EQ(parse_param_count("70.6B"), 70.6e9);
    EXPECT_DOUBLE_EQ(parse_param_count("500m"), 500e6);
    EXPECT_DOUBLE_EQ(parse_param_count("8000000000"), 8e9);
    for (const char* bad : {"", "B", "abc", "-7B", "7Q", "0", "nanB", "1e300B", "infB"}) EXPECT_THROW(parse_param_count(bad), Error) << bad;
}

TEST(FitCatalogue, UnknownNamesSuggestCloseOnes) {
    EXPECT_EQ(find_catalogue_model("LLAMA3.1:8B").name, "llama3.1:8b");
    EXPECT_EQ(find_catalogue_model("llama3.3:70b").name, "llama3.1:70b");
    try {
        find_catalogue_model("llama3.1:7b");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("llama3.1:8b"), std::string::npos) << e.what();
    }
    EXPECT_THROW(find_gpu("RTX 9090"), Error);
    EXPECT_EQ(find_gpu("rtx4090").name, "RTX 4090");
    EXPECT_EQ(find_gpu("h100").name, "H100");
}

TEST(FitHardware, NvmlNamesMatchTheCatalogue) {
    const uint64_t gib = uint64_t{1} << 30;
    ASSERT_NE(match_gpu("NVIDIA GeForce RTX 4090", 24 * gib), nullptr);
    EXPECT_EQ(match_gpu("NVIDIA GeForce RTX 4090", 24 * gib)->name, "RTX 4090");
    EXPECT_EQ(match_gpu("NVIDIA A100-SXM4-80GB", 80 * gib)->name, "A100 80GB");
    EXPECT_EQ(match_gpu("NVIDIA A100-PCIE-40GB", 40 * gib)->name, "A100 40GB");
    EXPECT_EQ(match_gpu("NVIDIA H100 80GB HBM3", 80 * gib)->name, "H100");
    EXPECT_EQ(match_gpu("NVIDIA GeForce RTX 3060", 12 * gib)->name, "RTX 3060 12GB");
    EXPECT_EQ(match_gpu("Tesla T4", 16 * gib), nullptr);
}

TEST(FitCatalogue, EveryModelHasConsistentShapes) {
    for (const CatalogueModel& m : catalogue_models()) {
        EXPECT_EQ(m.n_head % m.n_head_kv, 0) << m.name;
        EXPECT_GT(m.n_ctx, 0) << m.name;
        const WeightLayout w = layout_from_catalogue(m, convert::find_quant_mix("Q4_K_M"));
        EXPECT_EQ(w.layer_bytes.size(), static_cast<size_t>(m.n_layer)) << m.name;
        EXPECT_GT(w.weights_bytes(), w.n_params / 3) << m.name;  // ≥ ~2.7 bits per weight
    }
}

}  // namespace
}  // namespace hearth::fit
