#pragma once
// Architectures as data. One ArchSpec row per `general.architecture` holds the switches that
// change the math (rope style, FFN activation, norms, windows, routing) and the groups of
// tensors the family's files contain. The loader binds tensors by walking the expanded
// manifest; the memory accounting (`fit`), `hearth synth`, the quantization mix and
// bytes-per-token walk the same one, so "what does this family look like" has one answer.
//
// Adding a dense family is one row in kArchTable (arch.cpp), reusing tensor groups; a new
// kind of tensor is a TensorSpec row in a group plus a Slot the loader binds.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ops/ops.h"

namespace hearth {

struct HParams;

// The activation of a gated FFN: out = act(gate) ⊙ up.
enum class FfnActivation {
    SiLU,       // SwiGLU (llama, qwen, phi3, mixtral)
    GeluTanh,   // GeGLU with the tanh approximation (gemma)
    SwiGluOai,  // gpt-oss: clamped gate and up, x·σ(1.702x)·(up + 1)
};

// Which layers attend through a sliding window (hp.n_swa positions).
enum class WindowPattern {
    None,
    EvenLayers,    // layers 0, 2, 4, … (gpt-oss)
    AllButEveryN,  // all but every n-th layer, n = `sliding_window_pattern` (gemma3: 5 local, 1 global)
};

// Whether a family has a dense FFN, a mixture of experts, or either (llama: Mixtral). Every
// MoE family here routes the same way: the top-k router logits (plus the router bias), weights
// a softmax over those k — which equals a softmax over all experts renormalised over the k
// (qwen3moe, Mixtral) and the softmax over the chosen logits (gpt-oss).
enum class FfnKind { Dense, Moe, DenseOrMoe };

// What mixes the positions in a layer. Transformers attend in every layer; the hybrid
// families (qwen35) run a gated delta-net (a recurrence with a fixed-size state instead of a
// KV cache) in most layers and attention in every `full_attention_interval`-th.
enum class LayerKind { Attention, Recurrent };

// A tensor group: the tensors one feature brings (see kGroups in arch.cpp).
enum class TensorGroup {
    Embedding,       // token_embd, output_norm, output (optional: tied head)
    RopeFreqs,       // optional rope_freqs (llama3 scaling)
    LongRope,        // optional rope_factors_short/long (phi3 LongRoPE)
    AttnNorm,        // attn_norm before each layer's mixer (attention or recurrence)
    AttnSeparate,    // attn_q/k/v, attn_output
    AttnGatedQ,      // attn_q holding per head [q | output gate], attn_k/v, attn_output (qwen35)
    AttnFused,       // attn_qkv, attn_output
    AttnValueOptional,// attn_q/k, attn_output, attn_v optional: values are the keys when absent (gemma4)
    AttnBiasOptional,// attn_q/k/v biases where a converter wrote them
    AttnBias,        // attn_q/k/v and attn_output biases, required (gpt-oss)
    QkvBias,         // attn_q/k/v biases, required (qwen2)
    QkNorm,          // attn_q_norm, attn_k_norm
    Sinks,           // attn_sinks
    PostNorms,       // post_attention_norm and post_ffw_norm on the block outputs (gemma)
    FfnNorm,         // ffn_norm before the FFN
    FfnNormNamedPostAttention,  // the pre-FFN norm stored as post_attention_norm (gpt-oss)
    FfnDense,        // ffn_gate, ffn_up, ffn_down
    FfnFusedUp,      // ffn_up holding gate rows then up rows, ffn_down (phi3)
    Moe,             // ffn_gate_inp router and the ffn_{gate,up,down}_exps stacks
    MoeBiases,       // router bias and per-expert biases (gpt-oss)
    MoeShared,       // a shared expert with a sigmoid gate, added to the routed ones (qwen35moe)
    DeltaNet,        // the gated delta-net of recurrent layers: attn_qkv, attn_gate, ssm_* (qwen35)
    LayerOutputScale,// optional layer_output_scale: one number multiplying a layer's output (gemma4)
    PerLayerEmbedding,// per-layer token embeddings mixed into every layer's output (gemma4 E2B/E4B)
};

// Which layers a group's per-layer tensors belong to: the mixer groups to their kind of layer,
// everything else (norms, FFN) to every layer.
bool group_in_layer(TensorGroup g, LayerKind kind);

struct ArchSpec {
    std::string_view name;         // general.architecture
    std::string_view models;       // the models people know it by, for --help and docs
    ops::RopeStyle rope_style;
    FfnKind ffn;
    FfnActivation activation;
    WindowPattern window = WindowPattern::None;
    int window_pattern_default = 0;  // AllButEveryN: n when the file has no sliding_window_pattern
    bool embd_scale_sqrt = false;    // x0 = embedding · √n_embd (gemma)
    bool local_rope_unscaled = false;  // window layers: own base (rope.freq_base_swa, default 10000), no scaling
    bool hybrid_recurrent = false;   // delta-net layers with attention every n-th (qwen35)
    // gemma4: the q/k norms set the logit scale (attention scale 1), values are RMS-normalised
    // (no weight), and window layers have their own head size, KV heads and rotary width.
    bool unit_attention_scale = false;
    bool value_norm = false;
    std::vector<TensorGroup> groups;
    // False for families whose files `hearth fit` sizes but the engine cannot run yet (the
    // loader refuses them by name).
    bool runnable = true;

    bool has(TensorGroup g) const;
};

// The row for `general.architecture` (runnable or not), or nullptr.
const ArchSpec* find_arch(std::string_view name);
// Every supported architecture, in table order.
std::span<const ArchSpec> arch_table();
// "llama, qwen2, qwen3, …": the runnable ones, for error messages and --help.
std::string supported_architectures();

// A tensor's dimensions as functions of the hyperparameters (GGUF ne order).
enum class Dim : uint8_t {
    None, Embd, Vocab, QWidth, KvWidth, VWidth, AttnOut, QkvWidth, Ff, Ff2, FfExp, Expert,
    HeadDim, Head, RopeHalf,
    QGateWidth,    // 2 · q_width: queries and their output gates (AttnGatedQ)
    FfShexp,       // width of the shared expert
    SsmConv,       // delta-net: conv kernel width
    SsmChannels,   // delta-net: q, k and v channels through the convolution (2·H_k·d + H_v·d)
    SsmInner,      // delta-net: value width H_v·d
    SsmVHeads,     // delta-net: value heads H_v
    SsmState,      // delta-net: head dim d
    One,           // a single number
    PerLayerEmbd,  // per-layer embedding width
    PerLayerEmbdAll,  // per-layer embedding width × layers
};
// A dimension's value in layer `il` (−1: global tensors); the attention and FFN widths may
// differ between layers (gemma4).
int64_t dim_value(Dim d, const HParams& hp, int il = -1);

enum class TensorKind : uint8_t {
    Vector,         // 1-D: norms, biases; converted to float at load
    Matrix,         // 2-D weight [cols = ne0, rows = ne1]
    ExpertStack,    // 3-D [cols, rows, n_expert]: one matrix per expert
    ExpertVectors,  // 2-D [width, n_expert]: one bias vector per expert, floats at load
    FloatTable,     // small 2-D table read element-wise (conv kernels), floats at load
};

// What a tensor does, for the quantization mix rules.
enum class TensorRole : uint8_t {
    TokenEmbd, Output, AttnQ, AttnK, AttnV, AttnQkv, AttnOutput, FfnGate, FfnUp, FfnDown,
    FfnGateExps, FfnUpExps, FfnDownExps, Router, Norm, Bias,
    FfnGateShexp, FfnUpShexp, FfnDownShexp,
    SsmIn,      // delta-net input projections (attn_qkv, attn_gate, ssm_alpha/beta)
    SsmOut,     // delta-net output projection
    PleTokenEmbd,  // per-layer token embeddings (read a row per token, like token_embd)
    PleProj,       // per-layer embedding projections
    Other,
};

// Where the loader puts a tensor (model.h's weight structs).
enum class Slot : uint8_t {
    TokenEmbd, OutputNorm, Output, RopeFreqs, RopeFactorsShort, RopeFactorsLong,
    AttnNorm, Wq, Wk, Wv, Wqkv, Wo, Bq, Bk, Bv, Bo, QNorm, KNorm, Sinks, PostAttnNorm,
    FfnNorm, Gate, Up, Down, PostFfnNorm,
    Router, RouterBias, GateExps, UpExps, DownExps, GateExpsBias, UpExpsBias, DownExpsBias,
    ShexpGate, GateShexp, UpShexp, DownShexp,
    SsmQkv, SsmZ, SsmConv, SsmDtBias, SsmA, SsmBeta, SsmAlpha, SsmNorm, SsmOut,
    LayerOutScale, PleTokenEmbd, PleModelProj, PleProjNorm, PleGate, PleProj, PlePostNorm,
};

struct TensorSpec {
    std::string_view name;  // "attn_q.weight"; per-layer tensors are stored as "blk.N." + name
    bool per_layer;
    TensorKind kind;
    Dim ne[3];              // unused dims are Dim::None
    bool required;
    Slot slot;
    TensorRole role;
};

// One tensor of a concrete model: the manifest expanded for its hyperparameters.
struct TensorInstance {
    std::string name;          // "blk.3.attn_q.weight"
    const TensorSpec* spec;
    int layer;                 // -1 for global tensors
    std::vector<int64_t> dims; // GGUF ne order
    int64_t n_elements() const;
};

// Every tensor a model of hp's architecture and shape has: the required ones, and the optional
// ones `want_optional` accepts (the loader asks the file; a planner decides from what it knows).
std::vector<TensorInstance> expand_manifest(const HParams& hp,
                                            const std::function<bool(const TensorInstance&)>& want_optional);

// The spec of a tensor by its GGUF name in this architecture (nullptr: not part of it).
const TensorSpec* find_tensor_spec(const ArchSpec& arch, std::string_view gguf_name);
// The share of a tensor one token reads: n_expert_used / n_expert for expert stacks and their
// biases, 1 for everything else.
double active_fraction(const TensorSpec& spec, const HParams& hp);
// The quantization role of a GGUF tensor name in any known architecture (Other when unknown).
TensorRole tensor_role_of(std::string_view gguf_name);

}  // namespace hearth
