#pragma once
// Memory breakdown, placement over GPUs and host RAM, and speed estimates for one model on one
// machine. Sizes come from the same functions the engine allocates with (model/memory.h).
#include <cstdint>
#include <string>
#include <vector>

#include "fit/hardware.h"
#include "fit/weights.h"
#include "model/memory.h"
#include "tensor/types.h"

namespace hearth::fit {

struct FitOptions {
    int64_t n_ctx = 0;                 // 0: hearth's default (the model's, capped at 4096)
    int parallel = 1;                  // sequences, each with its own KV cache
    const TypeTraits* kv_type = nullptr;  // null: F16
    int n_batch = 512;                 // prompt tokens per forward pass
    int n_threads = 0;                 // 0: the machine's threads
    uint64_t runtime_base_bytes = 0;   // 0: kRuntimeBaseBytes; `hearth fit` passes its own resident size
};

// Resident memory of the hearth process before it loads anything (binary, libc, libstdc++,
// CLI), used when it cannot be measured (another machine).
constexpr uint64_t kRuntimeBaseBytes = uint64_t{8} << 20;
// Code and static data a run touches beyond a bare start (kernels, tokenizer, sampler).
constexpr uint64_t kRunCodeBytes = uint64_t{1} << 20;
// Each worker thread (threads − 1): stack pages touched and its malloc arena's first heap.
constexpr uint64_t kPerThreadBytes = uint64_t{192} << 10;
// Tokenizer tables built at load: per vocabulary entry (string, maps) and per merge rule.
constexpr uint64_t kTokenizerBytesPerToken = 144;
constexpr uint64_t kTokenizerBytesPerMerge = 76;
// One parsed GGUF metadata array element (sizeof(gguf::Value), rounded).
constexpr uint64_t kMetadataValueBytes = 96;

struct Breakdown {
    uint64_t weights = 0;
    uint64_t kv_cache = 0;         // KV of the attention layers and, for hybrids, the recurrent state
    uint64_t recurrent_state = 0;  // of kv_cache: the recurrent state and its checkpoints (memory.h)
    // Of kv_cache: the KV by kind of layer, all sequences (memory::kv_cache_breakdown, the
    // function the engine's cache is sized with); kv_cache = kv_layers.total() + recurrent_state.
    memory::KvBreakdown kv_layers;
    uint64_t compute = 0;
    uint64_t overhead = 0;
    uint64_t total() const { return weights + kv_cache + compute + overhead; }
    // Of the overhead: the parts, for the explanation.
    uint64_t runtime = 0, tokenizer = 0, host_copies = 0, metadata = 0, gpu_reserve = 0;
};

struct DeviceUse {
    std::string name;
    uint64_t bytes = 0;     // what is placed on it
    uint64_t capacity = 0;  // what may be used
    int layers = 0;
    bool gpu = false;
};

struct Placement {
    int gpu_layers = 0, cpu_layers = 0;
    bool output_on_gpu = false;
    std::vector<DeviceUse> devices;  // GPUs in order, then "CPU" (host RAM)
    bool fits = false;
    uint64_t shortfall = 0;  // bytes missing when it does not fit
    std::string summary() const;  // "all 32 layers on GPU", "20 of 80 layers on GPU", "CPU only", …
};

struct FitResult {
    int64_t n_ctx = 0;
    Breakdown breakdown;
    Placement placement;
    double est_tg_ts = 0;           // generation at the start of the context
    double est_tg_ts_full_ctx = 0;  // generation with the whole context in the KV cache
    double est_pp_ts = 0;           // prompt processing
    // Peak resident memory of `hearth run` on the CPU: the total less the pages of an untied
    // token embedding and of a per-layer embedding table a run never touches (it reads one row
    // of each per token).
    uint64_t predicted_rss = 0;
};

FitResult fit_model(const WeightLayout& w, const Machine& m, const FitOptions& o);
// Largest context (≤ the model's trained context) for which it fits at all, or (with
// `all_on_gpu`) entirely on the GPUs; 0 when none does.
int64_t largest_fitting_ctx(const WeightLayout& w, const Machine& m, const FitOptions& o, bool all_on_gpu);

struct HardwareOption {
    std::string name;
    int price_usd = 0;
    FitResult result;
};
// Catalogue configurations (1–8 of each GPU, Macs, CPU-only systems) that hold the model at the
// options' context entirely in fast memory and reach `min_tps`, cheapest first.
std::vector<HardwareOption> cheapest_hardware(const WeightLayout& w, const FitOptions& o, double min_tps, size_t n);

}  // namespace hearth::fit
