#pragma once
// Hyperparameters of a model, read from GGUF metadata alone. What differs between families
// lives in the ArchSpec row (model/arch.h) this points at; the numbers live here.
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/arch.h"
#include "ops/ops.h"

namespace hearth {

// The gated delta-net of hybrid families (qwen35: `ssm.*` keys). Key and value heads both
// have width state_size; value head j reads key head j mod n_k_heads.
struct DeltaNetParams {
    int conv_kernel = 0;   // ssm.conv_kernel: taps of the causal convolution
    int state_size = 0;    // ssm.state_size: head dim d (the state of a head is d × d)
    int n_k_heads = 0;     // ssm.group_count
    int n_v_heads = 0;     // ssm.time_step_rank
    int inner() const { return n_v_heads * state_size; }  // ssm.inner_size
    int conv_channels() const { return 2 * n_k_heads * state_size + inner(); }
};

// One layer's attention and FFN widths. Uniform in most families; gemma4's window layers have
// their own head size and KV heads, and its KV-sharing layers may have a wider FFN.
struct LayerGeometry {
    int n_head = 0, n_head_kv = 0, head_dim = 0, head_dim_v = 0, n_ff = 0;
    int q_width() const { return n_head * head_dim; }
    int kv_width() const { return n_head_kv * head_dim; }
    int v_width() const { return n_head_kv * head_dim_v; }
    int attn_out_width() const { return n_head * head_dim_v; }
};

struct HParams {
    const ArchSpec* arch = nullptr;  // the family's row; null only for models fit sizes but cannot run
    std::string arch_name;      // general.architecture as written in the file
    int n_vocab = 0;
    int n_ctx_train = 0;        // context length the model was trained for
    int n_embd = 0;             // width of the residual stream
    int n_layer = 0;
    int n_head = 0;             // query heads
    int n_head_kv = 0;          // key/value heads (GQA when < n_head)
    int head_dim = 0;           // per-head width of q and k
    int head_dim_v = 0;         // per-head width of v
    int n_ff = 0;               // dense FFN hidden width
    int n_expert = 0;           // MoE: experts per layer (0: dense FFN)
    int n_expert_used = 0;      // MoE: experts each token is routed to
    int n_ff_exp = 0;           // MoE: hidden width of one expert
    int n_ff_shexp = 0;         // MoE: hidden width of the shared expert (0: none)
    float norm_eps = 1e-5f;     // RMSNorm epsilon
    ops::RopeParams rope;       // full-attention layers (freq_factors bound at load)
    ops::RopeParams rope_local; // sliding-window layers (gemma3: own base, unscaled); = rope otherwise
    int n_swa = 0;              // sliding window in positions (0: every layer attends to all)
    std::vector<bool> swa_layers;  // [n_layer]: whether layer il uses the window
    DeltaNetParams ssm;         // hybrid families only
    std::vector<bool> recurrent_layers;  // [n_layer]: delta-net (true) or attention layer; empty: all attention
    float attn_scale = 1.0f;    // multiplies q·k (1/√head_dim unless the family says otherwise)
    float embd_scale = 1.0f;    // multiplies the token embedding (gemma: √n_embd)
    // LongRoPE (phi3): the factor set depends on the session's context (llama.cpp's rule).
    int n_ctx_orig = 0;         // rope.scaling.original_context_length (0: none)
    float final_softcap = 0;    // logits ← c·tanh(logits / c) (final_logit_softcapping; 0: none)
    // Per-layer geometry (gemma4); the scalars above are the global (full-attention) layers'.
    int head_dim_swa = 0;       // window layers' key/query head size (0: head_dim)
    int head_dim_v_swa = 0;     // window layers' value head size (0: head_dim_v)
    std::vector<int> n_head_kv_layers;  // [n_layer] KV heads per layer (empty: n_head_kv everywhere)
    std::vector<int> n_ff_layers;       // [n_layer] FFN width per layer (empty: n_ff everywhere)
    int n_kv_shared = 0;        // the last n layers attend over an earlier layer's KV instead of their own
    int n_embd_per_layer = 0;   // width of the per-layer token embeddings (0: none)

    int q_width() const { return n_head * head_dim; }
    int kv_width() const { return n_head_kv * head_dim; }
    int v_width() const { return n_head_kv * head_dim_v; }
    int attn_out_width() const { return n_head * head_dim_v; }
    bool is_moe() const { return n_expert > 0; }
    LayerKind layer_kind(int il) const {
        return il < static_cast<int>(recurrent_layers.size()) && recurrent_layers[il] ? LayerKind::Recurrent
                                                                                     : LayerKind::Attention;
    }
    int n_attention_layers() const;  // layers with a KV cache
    bool is_hybrid() const { return n_attention_layers() < n_layer; }
    bool uses_window(int il) const { return n_swa > 0 && il < static_cast<int>(swa_layers.size()) && swa_layers[il]; }
    // Layer il's widths (il < 0: the global layers' own scalars).
    LayerGeometry geometry(int il) const;
    // Whether layer il reads another layer's KV (and stores none), and which layer's it reads.
    bool shares_kv(int il) const { return n_kv_shared > 0 && il >= n_layer - n_kv_shared; }
    int kv_source(int il) const;
    // Layers that keep a KV cache of their own.
    bool has_own_kv(int il) const { return layer_kind(il) == LayerKind::Attention && !shares_kv(il); }
    // The widest of each width over the layers, for buffers shared by all layers.
    LayerGeometry max_geometry() const;
    // The family's row; throws for a model without one.
    const ArchSpec& spec() const;
};

// Throws hearth::Error naming the file and key for missing or inconsistent values, and for an
// architecture hearth cannot run (naming the supported ones).
HParams read_hparams(const gguf::File& file);

// The numbers a family derives from the basic shape (window layers, attention and embedding
// scale, local rope): read_hparams uses it, and so do planners that build an HParams by hand.
void derive_hparams(HParams& hp, int window_pattern = 0);

// Which layers of a hybrid are recurrent when every `full_attention_interval`-th one attends
// (layers interval−1, 2·interval−1, …), as qwen35 files say it without a per-layer list.
std::vector<bool> hybrid_layer_pattern(int n_layer, int full_attention_interval);

// The context size a run gets for `requested` tokens (0: the model's own, capped at
// kDefaultMaxContext). Here rather than in engine/ so that planners (fit/) size a session
// exactly as the engine will open it without depending on the engine.
constexpr int kDefaultMaxContext = 4096;
int resolve_context_size(const HParams& hp, int requested);

}  // namespace hearth
