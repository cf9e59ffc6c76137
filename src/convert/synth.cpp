// Synthetic models. Weights are N(0, 1/fan_in) (norm weights near 1), but making a 1B model
// must take seconds, so each (type, row length) gets a small pool of random rows quantized
// once, and a tensor's rows are copies of pool rows picked by a cheap generator.
#include "convert/synth.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <numbers>

#include "common/error.h"
#include "common/thread_pool.h"
#include "gguf/gguf.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "tensor/quantize.h"

namespace hearth::convert {
namespace {

// clang-format off
// Values from each model's config.json (hidden_size, num_hidden_layers, num_attention_heads,
// num_key_value_heads, head_dim, intermediate_size, vocab_size, max_position_embeddings,
// rope_theta, rms_norm_eps, tie_word_embeddings, rope_scaling).
constexpr ModelPreset kPresets[] = {
    {.name = "llama3-1b", .display_name = "Llama 3.2 1B (synthetic)", .arch = "llama",
     .n_embd = 2048, .n_layer = 16, .n_head = 32, .n_head_kv = 8, .head_dim = 64, .n_ff = 8192,
     .n_vocab = 128256, .n_ctx = 131072, .rope_base = 500000, .norm_eps = 1e-5, .tied_embeddings = true,
     .rope_factor = 32},
    {.name = "llama3-3b", .display_name = "Llama 3.2 3B (synthetic)", .arch = "llama",
     .n_embd = 3072, .n_layer = 28, .n_head = 24, .n_head_kv = 8, .head_dim = 128, .n_ff = 8192,
     .n_vocab = 128256, .n_ctx = 131072, .rope_base = 500000, .norm_eps = 1e-5, .tied_embeddings = true,
     .rope_factor = 32},
    {.name = "llama3-8b", .display_name = "Llama 3.1 8B (synthetic)", .arch = "llama",
     .n_embd = 4096, .n_layer = 32, .n_head = 32, .n_head_kv = 8, .head_dim = 128, .n_ff = 14336,
     .n_vocab = 128256, .n_ctx = 131072, .rope_base = 500000, .norm_eps = 1e-5, .tied_embeddings = false,
     .rope_factor = 8},
    {.name = "qwen2.5-0.5b", .display_name = "Qwen2.5 0.5B (synthetic)", .arch = "qwen2",
     .n_embd = 896, .n_layer = 24, .n_head = 14, .n_head_kv = 2, .head_dim = 64, .n_ff = 4864,
     .n_vocab = 151936, .n_ctx = 32768, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true},
    {.name = "qwen2.5-1.5b", .display_name = "Qwen2.5 1.5B (synthetic)", .arch = "qwen2",
     .n_embd = 1536, .n_layer = 28, .n_head = 12, .n_head_kv = 2, .head_dim = 128, .n_ff = 8960,
     .n_vocab = 151936, .n_ctx = 32768, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true},
    {.name = "qwen3-0.6b", .display_name = "Qwen3 0.6B (synthetic)", .arch = "qwen3",
     .n_embd = 1024, .n_layer = 28, .n_head = 16, .n_head_kv = 8, .head_dim = 128, .n_ff = 3072,
     .n_vocab = 151936, .n_ctx = 40960, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true},
    {.name = "smollm2-135m", .display_name = "SmolLM2 135M (synthetic)", .arch = "llama",
     .n_embd = 576, .n_layer = 30, .n_head = 9, .n_head_kv = 3, .head_dim = 64, .n_ff = 1536,
     .n_vocab = 49152, .n_ctx = 8192, .rope_base = 100000, .norm_eps = 1e-5, .tied_embeddings = true},
    {.name = "smollm2-360m", .display_name = "SmolLM2 360M (synthetic)", .arch = "llama",
     .n_embd = 960, .n_layer = 32, .n_head = 15, .n_head_kv = 5, .head_dim = 64, .n_ff = 2560,
     .n_vocab = 49152, .n_ctx = 8192, .rope_base = 100000, .norm_eps = 1e-5, .tied_embeddings = true},
    {.name = "tinyllama-1.1b", .display_name = "TinyLlama 1.1B (synthetic)", .arch = "llama",
     .n_embd = 2048, .n_layer = 22, .n_head = 32, .n_head_kv = 4, .head_dim = 64, .n_ff = 5632,
     .n_vocab = 32000, .n_ctx = 2048, .rope_base = 10000, .norm_eps = 1e-5, .tied_embeddings = false},
    {.name = "mistral-7b", .display_name = "Mistral 7B v0.1 (synthetic)", .arch = "llama",
     .n_embd = 4096, .n_layer = 32, .n_head = 32, .n_head_kv = 8, .head_dim = 128, .n_ff = 14336,
     .n_vocab = 32000, .n_ctx = 32768, .rope_base = 10000, .norm_eps = 1e-5, .tied_embeddings = false},
    // Mixtures of experts. gpt-oss: 24 layers alternating a 128-token window and full attention,
    // YaRN x32 over 4096; Qwen3-30B-A3B: 128 experts of width 768, 8 per token.
    {.name = "gpt-oss-20b", .display_name = "gpt-oss 20B (synthetic)", .arch = "gpt-oss",
     .n_embd = 2880, .n_layer = 24, .n_head = 64, .n_head_kv = 8, .head_dim = 64, .n_ff = 2880,
     .n_vocab = 201088, .n_ctx = 131072, .rope_base = 150000, .norm_eps = 1e-5, .tied_embeddings = false,
     .rope_original_ctx = 4096, .n_expert = 32, .n_expert_used = 4, .n_ff_exp = 2880,
     .sliding_window = 128, .rope_scaling = "yarn", .rope_scaling_factor = 32},
    {.name = "qwen3-30b-a3b", .display_name = "Qwen3 30B-A3B (synthetic)", .arch = "qwen3moe",
     .n_embd = 2048, .n_layer = 48, .n_head = 32, .n_head_kv = 4, .head_dim = 128, .n_ff = 6144,
     .n_vocab = 151936, .n_ctx = 40960, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = false,
     .n_expert = 128, .n_expert_used = 8, .n_ff_exp = 768},
    {.name = "mixtral-8x7b", .display_name = "Mixtral 8x7B v0.1 (synthetic)", .arch = "llama",
     .n_embd = 4096, .n_layer = 32, .n_head = 32, .n_head_kv = 8, .head_dim = 128, .n_ff = 14336,
     .n_vocab = 32000, .n_ctx = 32768, .rope_base = 1000000, .norm_eps = 1e-5, .tied_embeddings = false,
     .n_expert = 8, .n_expert_used = 2, .n_ff_exp = 14336},
    // Qwen3.5 / 3.6 hybrids: 3 gated delta-net layers (16 key / 16-32 value heads of 128) to each
    // gated-attention layer (head dim 256, 64 of it rotated, base 1e7). The 35B-A3B routes 8 of
    // 256 experts of width 512 next to one shared expert.
    {.name = "qwen3.5-0.8b", .display_name = "Qwen3.5 0.8B (synthetic)", .arch = "qwen35",
     .n_embd = 1024, .n_layer = 24, .n_head = 8, .n_head_kv = 2, .head_dim = 256, .n_ff = 3584,
     .n_vocab = 248320, .n_ctx = 262144, .rope_base = 10000000, .norm_eps = 1e-6, .tied_embeddings = true,
     .n_rot = 64, .ssm_conv_kernel = 4, .ssm_state = 128, .ssm_k_heads = 16, .ssm_v_heads = 16,
     .full_attention_interval = 4},
    {.name = "qwen3.5-9b", .display_name = "Qwen3.5 9B (synthetic)", .arch = "qwen35",
     .n_embd = 4096, .n_layer = 32, .n_head = 16, .n_head_kv = 4, .head_dim = 256, .n_ff = 12288,
     .n_vocab = 248320, .n_ctx = 262144, .rope_base = 10000000, .norm_eps = 1e-6, .tied_embeddings = false,
     .n_rot = 64, .ssm_conv_kernel = 4, .ssm_state = 128, .ssm_k_heads = 16, .ssm_v_heads = 32,
     .full_attention_interval = 4},
    {.name = "qwen3.6-35b-a3b", .display_name = "Qwen3.6 35B-A3B (synthetic)", .arch = "qwen35moe",
     .n_embd = 2048, .n_layer = 40, .n_head = 16, .n_head_kv = 2, .head_dim = 256, .n_ff = 512,
     .n_vocab = 248320, .n_ctx = 262144, .rope_base = 10000000, .norm_eps = 1e-6, .tied_embeddings = false,
     .n_expert = 256, .n_expert_used = 8, .n_ff_exp = 512, .n_rot = 64, .n_ff_shexp = 512,
     .ssm_conv_kernel = 4, .ssm_state = 128, .ssm_k_heads = 16, .ssm_v_heads = 32, .full_attention_interval = 4},
    // Gemma 3: 5 local layers (window 512/1024, rope base 10000) to each global one.
    {.name = "gemma3-1b", .display_name = "Gemma 3 1B (synthetic)", .arch = "gemma3",
     .n_embd = 1152, .n_layer = 26, .n_head = 4, .n_head_kv = 1, .head_dim = 256, .n_ff = 6912,
     .n_vocab = 262144, .n_ctx = 32768, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true,
     .sliding_window = 512, .rope_base_swa = 10000},
    {.name = "gemma3-4b", .display_name = "Gemma 3 4B (synthetic)", .arch = "gemma3",
     .n_embd = 2560, .n_layer = 34, .n_head = 8, .n_head_kv = 4, .head_dim = 256, .n_ff = 10240,
     .n_vocab = 262208, .n_ctx = 131072, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true,
     .sliding_window = 1024, .rope_base_swa = 10000, .rope_scaling = "linear", .rope_scaling_factor = 8},
    // Gemma 4 E4B: 5 window layers (head 256, 2 KV heads, window 512, base 10000) to each
    // global one (head 512, a quarter of it rotating, base 1e6); the last 18 layers reuse the KV
    // of layers 22/23; 256-wide per-layer embeddings; logits soft-capped at 30. From the
    // published config as far as we know it — not checked against a real file here (no network).
    {.name = "gemma4-e4b", .display_name = "Gemma 4 E4B (synthetic)", .arch = "gemma4",
     .n_embd = 2560, .n_layer = 42, .n_head = 8, .n_head_kv = 2, .head_dim = 512, .n_ff = 10240,
     .n_vocab = 262144, .n_ctx = 131072, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true,
     .sliding_window = 512, .rope_base_swa = 10000, .head_dim_swa = 256, .window_pattern_list = 6,
     .n_kv_shared = 18, .n_embd_per_layer = 256, .final_softcap = 30, .rope_partial_global = 0.25},
    // Gemma 4 E2B: 4 window layers (head 256, window 512) to each global one (head 512), one KV
    // head everywhere; the last 20 of 35 layers reuse the KV of layers 13/14 and have a doubled
    // FFN (use_double_wide_mlp); 256-wide per-layer embeddings. Gemma 4 31B: 5 window layers
    // (head 256, 16 KV heads, window 1024) to each global one (head 512, 4 KV heads, values from
    // the keys: attention_k_eq_v), no KV sharing, no per-layer embeddings. Both from third-party
    // copies of the config.json that agree with each other (text model) — not checked against
    // Google's release or a real GGUF here (no network).
    {.name = "gemma4-e2b", .display_name = "Gemma 4 E2B (synthetic)", .arch = "gemma4",
     .n_embd = 1536, .n_layer = 35, .n_head = 8, .n_head_kv = 1, .head_dim = 512, .n_ff = 6144,
     .n_vocab = 262144, .n_ctx = 131072, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true,
     .sliding_window = 512, .rope_base_swa = 10000, .head_dim_swa = 256, .window_pattern_list = 5,
     .n_kv_shared = 20, .n_embd_per_layer = 256, .final_softcap = 30, .rope_partial_global = 0.25,
     .shared_layers_double_ff = true},
    {.name = "gemma4-31b", .display_name = "Gemma 4 31B (synthetic)", .arch = "gemma4",
     .n_embd = 5376, .n_layer = 60, .n_head = 32, .n_head_kv = 4, .head_dim = 512, .n_ff = 21504,
     .n_vocab = 262144, .n_ctx = 262144, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true,
     .sliding_window = 1024, .rope_base_swa = 10000, .head_dim_swa = 256, .n_head_kv_swa = 16,
     .window_pattern_list = 6, .final_softcap = 30, .rope_partial_global = 0.25, .global_values_from_keys = true},
    // Phi-4-mini: fused qkv and gate/up, 96 of 128 dims rotated, LongRoPE over 4096.
    {.name = "phi4-mini", .display_name = "Phi-4-mini (synthetic)", .arch = "phi3",
     .n_embd = 3072, .n_layer = 32, .n_head = 24, .n_head_kv = 8, .head_dim = 128, .n_ff = 8192,
     .n_vocab = 200064, .n_ctx = 131072, .rope_base = 10000, .norm_eps = 1e-5, .tied_embeddings = true,
     .rope_original_ctx = 4096, .n_rot = 96, .longrope = true},
    // Small shapes for tests and smoke runs (all row lengths multiples of 256).
    {.name = "tiny", .display_name = "tiny llama (synthetic)", .arch = "llama",
     .n_embd = 256, .n_layer = 2, .n_head = 8, .n_head_kv = 2, .head_dim = 32, .n_ff = 768,
     .n_vocab = 512, .n_ctx = 2048, .rope_base = 10000, .norm_eps = 1e-5, .tied_embeddings = false},
    {.name = "tiny-llama3", .display_name = "tiny llama3 (synthetic)", .arch = "llama",
     .n_embd = 256, .n_layer = 2, .n_head = 8, .n_head_kv = 2, .head_dim = 32, .n_ff = 768,
     .n_vocab = 512, .n_ctx = 131072, .rope_base = 500000, .norm_eps = 1e-5, .tied_embeddings = true,
     .rope_factor = 8},
    {.name = "tiny-qwen2", .display_name = "tiny qwen2 (synthetic)", .arch = "qwen2",
     .n_embd = 256, .n_layer = 2, .n_head = 8, .n_head_kv = 2, .head_dim = 32, .n_ff = 768,
     .n_vocab = 512, .n_ctx = 4096, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true},
    {.name = "tiny-qwen3", .display_name = "tiny qwen3 (synthetic)", .arch = "qwen3",
     .n_embd = 256, .n_layer = 2, .n_head = 8, .n_head_kv = 2, .head_dim = 64, .n_ff = 768,
     .n_vocab = 512, .n_ctx = 4096, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true},
    {.name = "tiny-qwen3moe", .display_name = "tiny qwen3moe (synthetic)", .arch = "qwen3moe",
     .n_embd = 256, .n_layer = 2, .n_head = 8, .n_head_kv = 2, .head_dim = 64, .n_ff = 768,
     .n_vocab = 512, .n_ctx = 4096, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = false,
     .n_expert = 8, .n_expert_used = 2, .n_ff_exp = 256},
    {.name = "tiny-gpt-oss", .display_name = "tiny gpt-oss (synthetic)", .arch = "gpt-oss",
     .n_embd = 256, .n_layer = 4, .n_head = 8, .n_head_kv = 2, .head_dim = 32, .n_ff = 256,
     .n_vocab = 512, .n_ctx = 131072, .rope_base = 150000, .norm_eps = 1e-5, .tied_embeddings = false,
     .rope_original_ctx = 4096, .n_expert = 8, .n_expert_used = 4, .n_ff_exp = 256,
     .sliding_window = 16, .rope_scaling = "yarn", .rope_scaling_factor = 32},
    {.name = "tiny-gemma3", .display_name = "tiny gemma3 (synthetic)", .arch = "gemma3",
     .n_embd = 256, .n_layer = 6, .n_head = 4, .n_head_kv = 1, .head_dim = 256, .n_ff = 512,
     .n_vocab = 512, .n_ctx = 4096, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true,
     .sliding_window = 16, .rope_base_swa = 10000, .rope_scaling = "linear", .rope_scaling_factor = 8},
    {.name = "tiny-qwen35", .display_name = "tiny qwen35 (synthetic)", .arch = "qwen35",
     .n_embd = 256, .n_layer = 4, .n_head = 4, .n_head_kv = 2, .head_dim = 64, .n_ff = 512,
     .n_vocab = 512, .n_ctx = 4096, .rope_base = 10000000, .norm_eps = 1e-6, .tied_embeddings = false,
     .n_rot = 16, .ssm_conv_kernel = 4, .ssm_state = 32, .ssm_k_heads = 2, .ssm_v_heads = 4,
     .full_attention_interval = 4},
    {.name = "tiny-qwen35moe", .display_name = "tiny qwen35moe (synthetic)", .arch = "qwen35moe",
     .n_embd = 256, .n_layer = 4, .n_head = 4, .n_head_kv = 2, .head_dim = 64, .n_ff = 256,
     .n_vocab = 512, .n_ctx = 4096, .rope_base = 10000000, .norm_eps = 1e-6, .tied_embeddings = false,
     .n_expert = 8, .n_expert_used = 2, .n_ff_exp = 256, .n_rot = 16, .n_ff_shexp = 256,
     .ssm_conv_kernel = 4, .ssm_state = 32, .ssm_k_heads = 2, .ssm_v_heads = 4, .full_attention_interval = 4},
    // Every gemma4 feature in 6 layers: window layers 0, 1, 3, 4 (head 32, 2 KV heads), global
    // 2, 5 (head 64, 1 KV head, values from keys); layers 3-5 read the KV of 1 and 2 and have a
    // doubled FFN.
    {.name = "tiny-gemma4", .display_name = "tiny gemma4 (synthetic)", .arch = "gemma4",
     .n_embd = 256, .n_layer = 6, .n_head = 4, .n_head_kv = 1, .head_dim = 64, .n_ff = 512,
     .n_vocab = 512, .n_ctx = 4096, .rope_base = 1000000, .norm_eps = 1e-6, .tied_embeddings = true,
     .sliding_window = 16, .rope_base_swa = 10000, .head_dim_swa = 32, .n_head_kv_swa = 2,
     .window_pattern_list = 3, .n_kv_shared = 3, .n_embd_per_layer = 64, .final_softcap = 30,
     .rope_partial_global = 0.25, .global_values_from_keys = true, .shared_layers_double_ff = true},
    {.name = "tiny-phi3", .display_name = "tiny phi3 (synthetic)", .arch = "phi3",
     .n_embd = 256, .n_layer = 2, .n_head = 8, .n_head_kv = 2, .head_dim = 32, .n_ff = 512,
     .n_vocab = 512, .n_ctx = 131072, .rope_base = 10000, .norm_eps = 1e-5, .tied_embeddings = true,
     .rope_original_ctx = 4096, .n_rot = 24, .longrope = true},
};
// clang-format on

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t hash_string(std::string_view s) {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
    return h;
}

// xoshiro256**: fast, good enough for weights and row picks.
class Rng {
public:
    explicit Rng(uint64_t seed) {
        for (auto& s : s_) s = splitmix64(seed);
    }
    uint64_t next() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    // Uniform in (0, 1].
    double uniform() { return (static_cast<double>(next() >> 11) + 1.0) * 0x1.0p-53; }
    // Standard normal (Box-Muller; the second value is dropped, simplicity over speed).
    double normal() {
        double u1 = uniform(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }
    uint32_t below(uint32_t n) { return static_cast<uint32_t>(((next() >> 32) * n) >> 32); }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

uint64_t stream_seed(uint64_t seed, std::string_view what) {
    uint64_t s = seed ^ hash_string(what);
    return splitmix64(s);
}

// Quantized random rows, N(0, 1/row_length), for one (type, row length).
class RowPool {
public:
    RowPool(TensorType type, int64_t row_length, int n_rows, uint64_t seed, ThreadPool& threads)
        : row_bytes_(hearth::row_bytes(type_traits(type), row_length)), n_rows_(n_rows) {
        QuantizeRowFn quantize = find_quantizer(type);
        if (!quantize) fail("hearth cannot produce tensors of type {}", type_traits(type).name);
        data_.resize(row_bytes_ * static_cast<size_t>(n_rows));
        const double scale = 1.0 / std::sqrt(static_cast<double>(row_length));
        threads.parallel_for(n_rows, [&](int64_t begin, int64_t end) {
            std::vector<float> row(static_cast<size_t>(row_length));
            for (int64_t r = begin; r < end; ++r) {
                Rng rng(seed + static_cast<uint64_t>(r) * 0x9e3779b97f4a7c15ull);
                for (float& v : row) v = static_cast<float>(rng.normal() * scale);
                quantize(row.data(), data_.data() + static_cast<size_t>(r) * row_bytes_, row_length);
            }
        });
    }
    size_t row_bytes() const { return row_bytes_; }
    const uint8_t* row(uint32_t i) const { return data_.data() + static_cast<size_t>(i) * row_bytes_; }
    int n_rows() const { return n_rows_; }

private:
    size_t row_bytes_;
    int n_rows_;
    std::vector<uint8_t> data_;
};

// A SentencePiece ("llama") vocabulary: <unk> <s> </s>, the 256 byte tokens, then unique
// filler pieces with descending scores.
void add_synthetic_vocab(gguf::Writer& w, int n_vocab) {
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    tokens.reserve(static_cast<size_t>(n_vocab));
    auto add = [&](std::string piece, float score, int32_t type) {
        tokens.push_back(std::move(piece));
        scores.push_back(score);
        types.push_back(type);
    };
    constexpr int32_t kNormal = 1, kUnknown = 2, kControl = 3, kByte = 6;
    add("<unk>", 0, kUnknown);
    add("<s>", 0, kControl);
    add("</s>", 0, kControl);
    for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0, kByte);
    // Filler: letter strings in bijective base 26 (a..z, aa..zz, …), each also with the
    // SentencePiece word-start mark "▁", so every piece is distinct.
    for (int64_t k = 0; static_cast<int>(tokens.size()) < n_vocab; ++k) {
        std::string letters;
        for (int64_t v = k / 2 + 1; v > 0; v = (v - 1) / 26) letters.insert(letters.begin(), static_cast<char>('a' + (v - 1) % 26));
        add(k % 2 == 0 ? "\xe2\x96\x81" + letters : letters, -static_cast<float>(k + 1), kNormal);
    }
    w.set("tokenizer.ggml.model", gguf::make::string("llama"));
    w.set("tokenizer.ggml.tokens", gguf::make::strings(tokens));
    w.set("tokenizer.ggml.scores", gguf::make::f32s(scores));
    w.set("tokenizer.ggml.token_type", gguf::make::i32s(types));
    w.set("tokenizer.ggml.bos_token_id", gguf::make::u32(1));
    w.set("tokenizer.ggml.eos_token_id", gguf::make::u32(2));
    w.set("tokenizer.ggml.unknown_token_id", gguf::make::u32(0));
    w.set("tokenizer.ggml.add_bos_token", gguf::make::boolean(true));
    w.set("tokenizer.ggml.add_eos_token", gguf::make::boolean(false));
}

// The size of the vocabulary in a GGUF whose tokenizer.* keys synth copies.
int vocab_size_of(const gguf::File& file) {
    const gguf::Value* tokens = file.find("tokenizer.ggml.tokens");
    if (!tokens || tokens->type != gguf::ValueType::ARRAY || tokens->array.empty())
        fail("{}: no tokenizer.ggml.tokens array to copy the vocabulary from", file.path());
    if (tokens->array.size() > (1u << 30)) fail("{}: tokenizer.ggml.tokens is too large", file.path());
    return static_cast<int>(tokens->array.size());
}

void check_preset(const ModelPreset& p) {
    auto positive = [&](int v, const char* what) {
        if (v <= 0) fail("preset {}: {} must be positive (got {})", p.name, what, v);
    };
    positive(p.n_embd, "n_embd");
    positive(p.n_layer, "the layer count");
    positive(p.n_head, "n_head");
    positive(p.n_head_kv, "n_head_kv");
    positive(p.n_ff, "n_ff");
    positive(p.n_vocab, "the vocabulary size");
    positive(p.n_ctx, "the context length");
    if (p.n_head % p.n_head_kv != 0)
        fail("preset {}: n_head {} is not a multiple of n_head_kv {}", p.name, p.n_head, p.n_head_kv);
    if (!p.head_dim && p.n_embd % p.n_head != 0)
        fail("preset {}: n_embd {} is not a multiple of n_head {}", p.name, p.n_embd, p.n_head);
    if (p.head_size() % 2 != 0) fail("preset {}: the head size {} must be even", p.name, p.head_size());
    if (p.n_expert > 0 && (p.n_expert_used < 1 || p.n_expert_used > p.n_expert || p.n_ff_exp <= 0))
        fail("preset {}: {} experts need 1..{} used per token and a positive expert width", p.name, p.n_expert,
             p.n_expert);
}

// The family's hyperparameter keys for the preset's shape (general.architecture included).
void add_arch_keys(gguf::Writer& w, const ModelPreset& p, int n_vocab) {
    using gguf::make::f32;
    auto u = [](int v) { return gguf::make::u32(static_cast<uint32_t>(v)); };
    const std::string arch(p.arch);
    const std::string a = arch + ".";
    const int hd = p.head_size();
    w.set("general.architecture", gguf::make::string(arch));
    w.set(a + "vocab_size", u(n_vocab));
    w.set(a + "context_length", u(p.n_ctx));
    w.set(a + "embedding_length", u(p.n_embd));
    w.set(a + "block_count", u(p.n_layer));
    w.set(a + "feed_forward_length", u(p.n_ff));
    w.set(a + "attention.head_count", u(p.n_head));
    w.set(a + "attention.head_count_kv", u(p.n_head_kv));
    if (hd * p.n_head != p.n_embd) {
        w.set(a + "attention.key_length", u(hd));
        w.set(a + "attention.value_length", u(hd));
    }
    w.set(a + "rope.dimension_count", u(p.n_rot ? p.n_rot : hd));
    w.set(a + "rope.freq_base", f32(static_cast<float>(p.rope_base)));
    w.set(a + "attention.layer_norm_rms_epsilon", f32(static_cast<float>(p.norm_eps)));
    if (p.n_expert > 0) {
        w.set(a + "expert_count", u(p.n_expert));
        w.set(a + "expert_used_count", u(p.n_expert_used));
        // Mixtral files give the expert width as feed_forward_length.
        if (p.arch != "llama") w.set(a + "expert_feed_forward_length", u(p.n_ff_exp));
    }
    if (p.n_ff_shexp > 0) w.set(a + "expert_shared_feed_forward_length", u(p.n_ff_shexp));
    if (p.ssm_state > 0) {
        w.set(a + "ssm.conv_kernel", u(p.ssm_conv_kernel));
        w.set(a + "ssm.state_size", u(p.ssm_state));
        w.set(a + "ssm.group_count", u(p.ssm_k_heads));
        w.set(a + "ssm.time_step_rank", u(p.ssm_v_heads));
        w.set(a + "ssm.inner_size", u(p.ssm_v_heads * p.ssm_state));
        w.set(a + "full_attention_interval", u(p.full_attention_interval));
        // Multi-section rope over the rotated pairs; for text every section sees the same
        // position, so only the total (n_rot / 2) matters. llama.cpp requires the key.
        const int pairs = (p.n_rot ? p.n_rot : hd) / 2;
        const int32_t sections[4] = {pairs - 2 * (pairs / 3), pairs / 3, pairs / 3, 0};
        w.set(a + "rope.dimension_sections", gguf::make::i32s(sections));
    }
    if (p.sliding_window > 0) w.set(a + "attention.sliding_window", u(p.sliding_window));
    if (p.window_pattern_list > 0) {
        std::vector<bool> window(static_cast<size_t>(p.n_layer));
        std::vector<int32_t> kv_heads(static_cast<size_t>(p.n_layer)), ff(static_cast<size_t>(p.n_layer));
        for (int il = 0; il < p.n_layer; ++il) {
            window[il] = il % p.window_pattern_list != p.window_pattern_list - 1;
            kv_heads[il] = window[il] && p.n_head_kv_swa > 0 ? p.n_head_kv_swa : p.n_head_kv;
            ff[il] = p.shared_layers_double_ff && il >= p.n_layer - p.n_kv_shared ? 2 * p.n_ff : p.n_ff;
        }
        w.set(a + "attention.sliding_window_pattern", gguf::make::bools(window));
        if (p.n_head_kv_swa > 0) w.set(a + "attention.head_count_kv", gguf::make::i32s(kv_heads));
        if (p.shared_layers_double_ff) w.set(a + "feed_forward_length", gguf::make::i32s(ff));
    }
    if (p.head_dim_swa > 0) {
        w.set(a + "attention.key_length", u(hd));
        w.set(a + "attention.value_length", u(hd));
        w.set(a + "attention.key_length_swa", u(p.head_dim_swa));
        w.set(a + "attention.value_length_swa", u(p.head_dim_swa));
        w.set(a + "rope.dimension_count_swa", u(p.n_rot_swa ? p.n_rot_swa : p.head_dim_swa));
    }
    if (p.n_kv_shared > 0) w.set(a + "attention.shared_kv_layers", u(p.n_kv_shared));
    if (p.n_embd_per_layer > 0) w.set(a + "embedding_length_per_layer_input", u(p.n_embd_per_layer));
    if (p.final_softcap > 0) w.set(a + "final_logit_softcapping", f32(static_cast<float>(p.final_softcap)));
    if (p.rope_base_swa > 0) w.set(a + "rope.freq_base_swa", f32(static_cast<float>(p.rope_base_swa)));
    if (!p.rope_scaling.empty()) {
        w.set(a + "rope.scaling.type", gguf::make::string(std::string(p.rope_scaling)));
        w.set(a + "rope.scaling.factor", f32(static_cast<float>(p.rope_scaling_factor)));
        if (p.rope_scaling == "yarn") w.set(a + "rope.scaling.original_context_length", u(p.rope_original_ctx));
    }
    if (p.longrope) {
        // What Hugging Face's converter writes: sqrt(1 + ln(scale) / ln(original context)).
        const double scale = static_cast<double>(p.n_ctx) / p.rope_original_ctx;
        w.set(a + "rope.scaling.original_context_length", u(p.rope_original_ctx));
        w.set(a + "rope.scaling.attn_factor",
              f32(static_cast<float>(std::sqrt(1 + std::log(scale) / std::log(p.rope_original_ctx)))));
    }
}

// The hyperparameters the engine will read from those keys: synth writes exactly the tensors
// the loader expects by reading its own keys back with the loader's reader.
HParams hparams_of(const ModelPreset& p, int n_vocab) {
    gguf::Writer keys;
    add_arch_keys(keys, p, n_vocab);
    const std::vector<uint8_t> bytes = keys.to_bytes();
    auto file = gguf::File::parse(fmt::format("preset {}", p.name), bytes.data(), bytes.size());
    HParams hp = read_hparams(*file);
    hp.n_vocab = n_vocab;  // the engine takes it from the vocabulary
    return hp;
}

// The initial values of a float tensor: norms near 1, biases near 0, sinks spread around 0.
struct VectorInit {
    double center, spread;
};
VectorInit vector_init(const TensorSpec& spec) {
    if (spec.role == hearth::TensorRole::Norm) return {1.0, 0.05};
    switch (spec.slot) {
        case Slot::Sinks: return {0.0, 0.5};
        case Slot::SsmA: return {-0.8, 0.1};       // −exp(A_log): negative, so the state decays
        case Slot::SsmDtBias: return {-1.5, 0.5};  // softplus(·) of a few tenths
        case Slot::SsmConv: return {0.0, 0.5};
        case Slot::LayerOutScale: return {1.0, 0.1};
        default: return {0.0, 0.02};
    }
}

}  // namespace

std::span<const ModelPreset> model_presets() { return kPresets; }

HParams preset_hparams(const ModelPreset& p) { return hparams_of(p, p.n_vocab); }

bool preset_has_tensor(const ModelPreset& p, const HParams& hp, const TensorInstance& t) {
    switch (t.spec->slot) {
        case Slot::Output: return !p.tied_embeddings;
        case Slot::RopeFreqs: return p.rope_factor > 0 || p.rope_partial_global > 0;
        case Slot::Wv: return !(p.global_values_from_keys && !hp.uses_window(t.layer));
        case Slot::Wk: case Slot::KNorm: return true;  // written in KV-sharing layers too, as converters do
        case Slot::LayerOutScale: return p.arch == "gemma4";
        case Slot::RopeFactorsShort: case Slot::RopeFactorsLong: return p.longrope;
        default: return false;
    }
}

std::string model_preset_names() {
    std::string out;
    for (const ModelPreset& p : kPresets) {
        if (!out.empty()) out += ", ";
        out += p.name;
    }
    return out;
}

const ModelPreset& find_model_preset(std::string_view name) {
    for (const ModelPreset& p : kPresets)
        if (p.name == name) return p;
    fail("unknown preset '{}' (presets: {})", name, model_preset_names());
}

std::vector<float> llama3_rope_factors(const ModelPreset& p) {
    // Meta's published llama3 scaling: long wavelengths are slowed by `factor`, short ones kept,
    // and the band between blends smoothly. rope_freqs holds the divisor of each frequency.
    const int n_rot = p.head_size();
    const double low_wavelen = p.rope_original_ctx / p.rope_low_freq_factor;
    const double high_wavelen = p.rope_original_ctx / p.rope_high_freq_factor;
    std::vector<float> factors;
    for (int i = 0; i < n_rot; i += 2) {
        const double freq = 1.0 / std::pow(p.rope_base, static_cast<double>(i) / n_rot);
        const double wavelen = 2 * std::numbers::pi / freq;
        double f = 1.0;
        if (wavelen > low_wavelen) {
            f = p.rope_factor;
        } else if (wavelen >= high_wavelen) {
            const double smooth = (p.rope_original_ctx / wavelen - p.rope_low_freq_factor) /
                                  (p.rope_high_freq_factor - p.rope_low_freq_factor);
            f = 1.0 / ((1 - smooth) / p.rope_factor + smooth);
        }
        factors.push_back(static_cast<float>(f));
    }
    return factors;
}

std::vector<float> proportional_rope_factors(const ModelPreset& p) {
    // Gemma 4's global layers rotate only the first share of each head's frequency pairs, at the
    // frequencies of the full head size; a huge divisor stops the others (θ ≈ 0: no rotation).
    const int pairs = p.head_size() / 2;
    const int rotated = static_cast<int>(p.head_size() * p.rope_partial_global / 2);
    std::vector<float> f(static_cast<size_t>(pairs), 1e30f);
    std::fill_n(f.begin(), rotated, 1.0f);
    return f;
}

std::vector<float> longrope_factors(int64_t n, bool long_factors, uint64_t seed) {
    // Increasing divisors as published LongRoPE sets have: short ones near 1, long ones up to ~40.
    Rng rng(stream_seed(seed, long_factors ? "rope_factors_long" : "rope_factors_short"));
    std::vector<float> f(static_cast<size_t>(n));
    for (float& v : f) {
        const double u = rng.uniform();
        v = static_cast<float>(long_factors ? 1 + 40 * u * u : 1 + 0.6 * u);
    }
    std::sort(f.begin(), f.end());
    return f;
}

SynthResult synthesize_model(const SynthOptions& options, const std::string& path) {
    if (!options.mix) fail("synth: no quantization type given");
    const ModelPreset& p = options.preset;
    check_preset(p);
    if (options.pool_rows < 1) fail("synth: the row pool needs at least one row");
    const QuantMix& mix = *options.mix;

    ModelOutput out(options.progress);
    gguf::Writer& w = out.writer();
    // The vocabulary's size shapes token_embd and output.
    std::unique_ptr<gguf::File> vocab_file;
    int n_vocab = p.n_vocab;
    if (!options.vocab_from.empty()) {
        vocab_file = gguf::File::open(options.vocab_from);
        n_vocab = vocab_size_of(*vocab_file);
    } else if (n_vocab < 260) {
        fail("synth: a vocabulary needs at least 260 tokens (3 special, 256 bytes, 1 more), got {}", n_vocab);
    }

    const HParams hp = hparams_of(p, n_vocab);
    add_arch_keys(w, p, n_vocab);
    if (options.pooling_type >= 0)  // an embedding model (Qwen3-Embedding: 3, last)
        w.set(std::string(p.arch) + ".pooling_type", gguf::make::u32(static_cast<uint32_t>(options.pooling_type)));
    w.set("general.name", gguf::make::string(std::string(p.display_name)));
    w.set("general.file_type", gguf::make::u32(mix.file_type()));
    w.set("general.quantization_version", gguf::make::u32(2));
    if (vocab_file) {
        for (const auto& kv : vocab_file->metadata())
            if (kv.key.rfind("tokenizer.", 0) == 0) w.set(kv.key, kv.value);
    } else {
        add_synthetic_vocab(w, n_vocab);
    }

    ModelShape shape;
    shape.n_layer = p.n_layer;
    shape.n_gqa = p.n_head / p.n_head_kv;
    shape.tied_embeddings = p.tied_embeddings;
    shape.n_expert = p.n_expert;

    ThreadPool threads(ThreadPool::default_threads());
    auto pools = std::make_shared<std::map<std::pair<TensorType, int64_t>, std::unique_ptr<RowPool>>>();
    const uint64_t seed = options.seed;
    const int pool_rows = options.pool_rows;
    ThreadPool* tp = &threads;

    // A weight matrix of `rows` rows of `cols` elements, rows copied from the pool.
    auto matrix = [&](const std::string& name, const std::vector<int64_t>& dims) {
        const int64_t cols = dims[0];
        const TensorType type = is_quantizable(name, dims.size())
                                    ? choose_tensor_type(mix, name, cols, shape, options.pure)
                                    : TensorType::F32;
        out.add_tensor(name, type, dims,
                       [=](uint8_t* dst, size_t n_bytes, const ModelOutput::Tick& tick) {
                           auto& slot = (*pools)[{type, cols}];
                           if (!slot)
                               slot = std::make_unique<RowPool>(
                                   type, cols, pool_rows,
                                   stream_seed(seed, fmt::format("pool {} {}", type_traits(type).name, cols)), *tp);
                           const RowPool& pool = *slot;
                           Rng rng(stream_seed(seed, name));
                           const size_t rb = pool.row_bytes();
                           const size_t n_rows = n_bytes / rb;
                           for (size_t r = 0; r < n_rows; ++r) {
                               std::memcpy(dst + r * rb, pool.row(rng.below(static_cast<uint32_t>(pool.n_rows()))), rb);
                               if ((r & 4095) == 4095) tick(r * rb);
                           }
                       });
    };
    // An F32 vector (or one per expert): `center` + N(0, spread²) per element.
    auto vector = [&](const std::string& name, const std::vector<int64_t>& dims, VectorInit init) {
        out.add_tensor(name, TensorType::F32, dims, [=](uint8_t* dst, size_t n_bytes, const ModelOutput::Tick&) {
            const double center = init.center, spread = init.spread;
            Rng rng(stream_seed(seed, name));
            for (size_t i = 0; i < n_bytes / 4; ++i) {
                float v = static_cast<float>(center + spread * rng.normal());
                std::memcpy(dst + i * 4, &v, 4);
            }
        });
    };

    // Every tensor the family's manifest lists for this shape, the optional ones the preset asks for.
    auto wanted = [&](const TensorInstance& t) { return preset_has_tensor(p, hp, t); };
    for (const TensorInstance& t : expand_manifest(hp, wanted)) {
        std::vector<float> fixed;  // tensors with prescribed values
        if (t.spec->slot == Slot::RopeFreqs)
            fixed = p.rope_partial_global > 0 ? proportional_rope_factors(p) : llama3_rope_factors(p);
        if (t.spec->slot == Slot::RopeFactorsShort) fixed = longrope_factors(t.dims[0], false, seed);
        if (t.spec->slot == Slot::RopeFactorsLong) fixed = longrope_factors(t.dims[0], true, seed);
        if (!fixed.empty()) {
            out.add_tensor(t.name, TensorType::F32, t.dims,
                           [fixed](uint8_t* dst, size_t n, const ModelOutput::Tick&) { std::memcpy(dst, fixed.data(), n); });
        } else if (t.spec->kind == TensorKind::Vector || t.spec->kind == TensorKind::ExpertVectors ||
                   t.spec->kind == TensorKind::FloatTable) {
            vector(t.name, t.dims, vector_init(*t.spec));
        } else {
            matrix(t.name, t.dims);
        }
    }

    out.write(path);

    SynthResult r;
    r.n_params = out.n_params();
    r.tensor_bytes = out.tensor_bytes();
    r.n_tensors = out.n_tensors();
    r.n_vocab = n_vocab;
    r.type_summary = out.type_summary();
    return r;
}

}  // namespace hearth::convert
