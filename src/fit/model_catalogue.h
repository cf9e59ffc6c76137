#pragma once
// Built-in hyperparameters of popular open models, named as Ollama names them ("llama3.1:8b"),
// so `hearth fit --model` can answer before anything is downloaded. Values are those of each
// model's published config.json (text model only for multimodal ones). A family whose layers
// differ from each other (gemma4: window and global head sizes, KV sharing, per-layer
// embeddings) names a `hearth synth` preset instead, which holds its whole shape once.
#include <span>
#include <string>
#include <string_view>

namespace hearth::fit {

struct CatalogueModel {
    std::string_view name;     // "llama3.1:8b"
    std::string_view aliases = {};  // other names, space-separated ("llama3:8b deepseek-r1:8b")
    std::string_view arch;     // general.architecture of its GGUF files: its tensors are that
                               // family's manifest (model/arch.h)
    int n_layer = 0, n_embd = 0, n_ff = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_vocab = 0, n_ctx = 0;
    bool tied_embeddings = false;
    int n_expert = 0;       // MoE: experts per layer (n_ff is then each expert's width)
    int n_expert_used = 0;  // experts each token runs through
    int n_ff_shexp = 0;     // MoE: a shared expert's width (0: none)
    // Hybrid gated delta-net families (qwen35): conv taps, head dim, key and value heads, and
    // every how many layers one attends (linear_conv_kernel_dim, linear_key_head_dim,
    // linear_num_key_heads, linear_num_value_heads, full_attention_interval).
    int ssm_conv_kernel = 0, ssm_state = 0, ssm_k_heads = 0, ssm_v_heads = 0, full_attention_interval = 0;
    // The convert/synth.h preset holding the shape ("" : the fields above are it). The fields
    // above are then filled from it (catalogue_models()): its global layers' heads and head size.
    std::string_view synth_preset = {};
    // Where the numbers come from, when not the model's own published config.json.
    std::string_view provenance = {};
};

std::span<const CatalogueModel> catalogue_models();
// Exact name or alias, case-insensitive. Throws hearth::Error naming the closest names.
const CatalogueModel& find_catalogue_model(std::string_view name);
// Up to `n` catalogue names closest to `name` (edit distance), for error messages.
std::string closest_model_names(std::string_view name, size_t n = 3);

}  // namespace hearth::fit
