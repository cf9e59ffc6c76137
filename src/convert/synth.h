#pragma once
// Synthetic models: GGUF files with random weights in the exact shapes of popular models, for
// benchmarking (speed does not depend on the values) where real weights cannot be downloaded.
// Files carry complete tokenizer metadata so llama.cpp loads them as well.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "convert/model_output.h"
#include "convert/quant_mix.h"
#include "model/hparams.h"

namespace hearth::convert {

// Hyperparameters as the model's published config.json gives them.
struct ModelPreset {
    std::string_view name;          // "llama3-1b"
    std::string_view display_name;  // general.name: "Llama 3.2 1B (synthetic)"
    std::string_view arch;          // general.architecture: a row of model/arch.h's table
    int n_embd = 0;
    int n_layer = 0;
    int n_head = 0;
    int n_head_kv = 0;
    int head_dim = 0;               // 0: n_embd / n_head
    int n_ff = 0;
    int n_vocab = 0;
    int n_ctx = 0;                  // max_position_embeddings
    double rope_base = 10000;
    double norm_eps = 1e-5;
    bool tied_embeddings = false;
    // Llama 3.1-style rope scaling, written as a rope_freqs.weight tensor as llama.cpp's converter
    // does (factor 0: none).
    double rope_factor = 0;
    double rope_low_freq_factor = 1;
    double rope_high_freq_factor = 4;
    int rope_original_ctx = 8192;   // also rope.scaling.original_context_length (yarn, LongRoPE)
    // Experts (0: dense FFN): count, how many each token uses, the width of one.
    int n_expert = 0;
    int n_expert_used = 0;
    int n_ff_exp = 0;
    int n_rot = 0;                  // rotary dims per head (0: all of them)
    int sliding_window = 0;         // attention.sliding_window (0: none)
    double rope_base_swa = 0;       // rope.freq_base_swa (0: not written)
    // rope.scaling.type "linear" or "yarn" with this factor ("" : none).
    std::string_view rope_scaling = {};
    double rope_scaling_factor = 1;
    bool longrope = false;          // rope_factors_short/long tensors and rope.scaling.attn_factor
    int n_ff_shexp = 0;             // width of a shared expert next to the routed ones (0: none)
    // Hybrid gated delta-net families (qwen35): the delta-net's convolution taps, head dim, key
    // and value heads, and every how many layers one attends (0: not a hybrid).
    int ssm_conv_kernel = 0;
    int ssm_state = 0;
    int ssm_k_heads = 0;
    int ssm_v_heads = 0;
    int full_attention_interval = 0;
    // Gemma 4: window layers' head size, rotary dims and KV heads (0: as the global layers),
    // the window pattern written as one flag per layer (every n-th layer global), the last
    // layers reading earlier layers' KV, per-layer embeddings, final logit soft-capping, the
    // share of a global head's dims that rotate ("proportional" rope, through rope_freqs; 0:
    // all), values from the keys in global layers (no attn_v), doubled FFN in sharing layers.
    int head_dim_swa = 0;
    int n_rot_swa = 0;
    int n_head_kv_swa = 0;
    int window_pattern_list = 0;
    int n_kv_shared = 0;
    int n_embd_per_layer = 0;
    double final_softcap = 0;
    double rope_partial_global = 0;
    bool global_values_from_keys = false;
    bool shared_layers_double_ff = false;

    int head_size() const { return head_dim ? head_dim : n_embd / n_head; }
};

std::span<const ModelPreset> model_presets();
// "llama3-1b, llama3-3b, …".
std::string model_preset_names();
// Throws hearth::Error listing the presets.
const ModelPreset& find_model_preset(std::string_view name);
// The hyperparameters the engine reads from a file synth writes for this preset (p.n_vocab
// tokens), and whether that file holds the manifest's optional tensor t: `hearth fit`'s
// catalogue lays out the presets' models with these, so fit and synth agree on every tensor.
HParams preset_hparams(const ModelPreset& p);
bool preset_has_tensor(const ModelPreset& p, const HParams& hp, const TensorInstance& t);

struct SynthOptions {
    ModelPreset preset;             // a copy, so callers may override layers, context or vocab
    const QuantMix* mix = nullptr;  // required
    bool pure = false;              // every weight matrix the mix's base type (llama-quantize --pure)
    uint64_t seed = 1;
    std::string vocab_from;         // copy every tokenizer.* key from this GGUF instead of synthesizing
    int pool_rows = 64;             // distinct random rows per (type, row length)
    int pooling_type = -1;          // <arch>.pooling_type to write (llama.cpp's enum; -1: none, as chat models)
    ProgressFn progress;
};

struct SynthResult {
    uint64_t n_params = 0;
    uint64_t tensor_bytes = 0;
    size_t n_tensors = 0;
    int n_vocab = 0;
    std::string type_summary;       // "Q4_K 96, Q6_K 17, F32 33"
};

// Writes the model to `path` (through a temporary file and a rename). Throws hearth::Error.
SynthResult synthesize_model(const SynthOptions& options, const std::string& path);

// The llama3 rope frequency factors for n_rot/2 pairs (what rope_freqs.weight holds).
std::vector<float> llama3_rope_factors(const ModelPreset& p);
// Gemma 4's "proportional" rope for global layers: divisor 1 for the rotated pairs, 1e30 for the rest.
std::vector<float> proportional_rope_factors(const ModelPreset& p);
// n LongRoPE frequency divisors (phi3's rope_factors_short/long), increasing, seeded.
std::vector<float> longrope_factors(int64_t n, bool long_factors, uint64_t seed);

}  // namespace hearth::convert
