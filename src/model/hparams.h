#pragma once
// Hyperparameters of a llama-family model, read from GGUF metadata alone. Differences between
// families are flags here, not subclasses.
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "ops/ops.h"

namespace hearth {

enum class Architecture { Llama, Qwen2, Qwen3 };

// "llama, qwen2, qwen3": for error messages and --help.
std::string supported_architectures();

struct HParams {
    Architecture arch = Architecture::Llama;
    std::string arch_name;      // general.architecture as written in the file
    int n_vocab = 0;
    int n_ctx_train = 0;        // context length the model was trained for
    int n_embd = 0;             // width of the residual stream
    int n_layer = 0;
    int n_head = 0;             // query heads
    int n_head_kv = 0;          // key/value heads (GQA when < n_head)
    int head_dim = 0;           // per-head width of q and k
    int head_dim_v = 0;         // per-head width of v
    int n_ff = 0;               // FFN hidden width
    float norm_eps = 1e-5f;     // RMSNorm epsilon
    ops::RopeParams rope;       // style, n_rot, base, scale (freq_factors bound at load)
    bool has_qkv_bias = false;  // qwen2
    bool has_qk_norm = false;   // qwen3: RMSNorm per head of q and k before RoPE

    int q_width() const { return n_head * head_dim; }
    int kv_width() const { return n_head_kv * head_dim; }
    int v_width() const { return n_head_kv * head_dim_v; }
};

// Throws hearth::Error naming the file and key for missing or inconsistent values.
HParams read_hparams(const gguf::File& file);

}  // namespace hearth
