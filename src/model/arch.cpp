// The architecture table and the tensor groups it is built from. Names, shapes and which
// tensors exist follow what llama.cpp's converter writes (GGUF `ne` order: [cols, rows, …]).
#include "model/arch.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"
#include "model/hparams.h"

namespace hearth {
namespace {

using D = Dim;
using K = TensorKind;
using R = TensorRole;
using S = Slot;
using G = TensorGroup;

constexpr bool kReq = true, kOpt = false;
constexpr bool kGlobal = false, kLayer = true;

struct GroupRows {
    TensorGroup group;
    std::vector<TensorSpec> rows;
};

// clang-format off
const std::vector<GroupRows> kGroups = {
    {G::Embedding, {
        {"token_embd.weight",  kGlobal, K::Matrix, {D::Embd, D::Vocab}, kReq, S::TokenEmbd, R::TokenEmbd},
        {"output_norm.weight", kGlobal, K::Vector, {D::Embd},           kReq, S::OutputNorm, R::Norm},
        {"output.weight",      kGlobal, K::Matrix, {D::Embd, D::Vocab}, kOpt, S::Output, R::Output}}},
    {G::RopeFreqs, {
        {"rope_freqs.weight",  kGlobal, K::Vector, {D::RopeHalf}, kOpt, S::RopeFreqs, R::Other}}},
    {G::LongRope, {
        {"rope_factors_short.weight", kGlobal, K::Vector, {D::RopeHalf}, kOpt, S::RopeFactorsShort, R::Other},
        {"rope_factors_long.weight",  kGlobal, K::Vector, {D::RopeHalf}, kOpt, S::RopeFactorsLong, R::Other}}},
    {G::AttnNorm, {
        {"attn_norm.weight",   kLayer, K::Vector, {D::Embd},            kReq, S::AttnNorm, R::Norm}}},
    {G::AttnSeparate, {
        {"attn_q.weight",      kLayer, K::Matrix, {D::Embd, D::QWidth}, kReq, S::Wq, R::AttnQ},
        {"attn_k.weight",      kLayer, K::Matrix, {D::Embd, D::KvWidth}, kReq, S::Wk, R::AttnK},
        {"attn_v.weight",      kLayer, K::Matrix, {D::Embd, D::VWidth}, kReq, S::Wv, R::AttnV},
        {"attn_output.weight", kLayer, K::Matrix, {D::AttnOut, D::Embd}, kReq, S::Wo, R::AttnOutput}}},
    {G::AttnGatedQ, {
        {"attn_q.weight",      kLayer, K::Matrix, {D::Embd, D::QGateWidth}, kReq, S::Wq, R::AttnQ},
        {"attn_k.weight",      kLayer, K::Matrix, {D::Embd, D::KvWidth},    kReq, S::Wk, R::AttnK},
        {"attn_v.weight",      kLayer, K::Matrix, {D::Embd, D::VWidth},     kReq, S::Wv, R::AttnV},
        {"attn_output.weight", kLayer, K::Matrix, {D::AttnOut, D::Embd},    kReq, S::Wo, R::AttnOutput}}},
    {G::AttnFused, {
        {"attn_qkv.weight",    kLayer, K::Matrix, {D::Embd, D::QkvWidth}, kReq, S::Wqkv, R::AttnQkv},
        {"attn_output.weight", kLayer, K::Matrix, {D::AttnOut, D::Embd},  kReq, S::Wo, R::AttnOutput}}},
    {G::AttnValueOptional, {
        {"attn_q.weight",      kLayer, K::Matrix, {D::Embd, D::QWidth},  kReq, S::Wq, R::AttnQ},
        {"attn_k.weight",      kLayer, K::Matrix, {D::Embd, D::KvWidth}, kReq, S::Wk, R::AttnK},
        {"attn_v.weight",      kLayer, K::Matrix, {D::Embd, D::VWidth},  kOpt, S::Wv, R::AttnV},
        {"attn_output.weight", kLayer, K::Matrix, {D::AttnOut, D::Embd}, kReq, S::Wo, R::AttnOutput}}},
    {G::AttnBiasOptional, {
        {"attn_q.bias", kLayer, K::Vector, {D::QWidth},  kOpt, S::Bq, R::Bias},
        {"attn_k.bias", kLayer, K::Vector, {D::KvWidth}, kOpt, S::Bk, R::Bias},
        {"attn_v.bias", kLayer, K::Vector, {D::VWidth},  kOpt, S::Bv, R::Bias}}},
    {G::QkvBias, {
        {"attn_q.bias", kLayer, K::Vector, {D::QWidth},  kReq, S::Bq, R::Bias},
        {"attn_k.bias", kLayer, K::Vector, {D::KvWidth}, kReq, S::Bk, R::Bias},
        {"attn_v.bias", kLayer, K::Vector, {D::VWidth},  kReq, S::Bv, R::Bias}}},
    {G::AttnBias, {
        {"attn_q.bias",      kLayer, K::Vector, {D::QWidth},  kReq, S::Bq, R::Bias},
        {"attn_k.bias",      kLayer, K::Vector, {D::KvWidth}, kReq, S::Bk, R::Bias},
        {"attn_v.bias",      kLayer, K::Vector, {D::VWidth},  kReq, S::Bv, R::Bias},
        {"attn_output.bias", kLayer, K::Vector, {D::Embd},    kReq, S::Bo, R::Bias}}},
    {G::QkNorm, {
        {"attn_q_norm.weight", kLayer, K::Vector, {D::HeadDim}, kReq, S::QNorm, R::Norm},
        {"attn_k_norm.weight", kLayer, K::Vector, {D::HeadDim}, kReq, S::KNorm, R::Norm}}},
    {G::Sinks, {
        {"attn_sinks.weight", kLayer, K::Vector, {D::Head}, kReq, S::Sinks, R::Other}}},
    {G::PostNorms, {
        {"post_attention_norm.weight", kLayer, K::Vector, {D::Embd}, kReq, S::PostAttnNorm, R::Norm},
        {"post_ffw_norm.weight",       kLayer, K::Vector, {D::Embd}, kReq, S::PostFfnNorm, R::Norm}}},
    {G::FfnNorm, {
        {"ffn_norm.weight", kLayer, K::Vector, {D::Embd}, kReq, S::FfnNorm, R::Norm}}},
    {G::FfnNormNamedPostAttention, {
        {"post_attention_norm.weight", kLayer, K::Vector, {D::Embd}, kReq, S::FfnNorm, R::Norm}}},
    {G::FfnDense, {
        {"ffn_gate.weight", kLayer, K::Matrix, {D::Embd, D::Ff}, kReq, S::Gate, R::FfnGate},
        {"ffn_up.weight",   kLayer, K::Matrix, {D::Embd, D::Ff}, kReq, S::Up, R::FfnUp},
        {"ffn_down.weight", kLayer, K::Matrix, {D::Ff, D::Embd}, kReq, S::Down, R::FfnDown}}},
    {G::FfnFusedUp, {
        {"ffn_up.weight",   kLayer, K::Matrix, {D::Embd, D::Ff2}, kReq, S::Up, R::FfnUp},
        {"ffn_down.weight", kLayer, K::Matrix, {D::Ff, D::Embd},  kReq, S::Down, R::FfnDown}}},
    {G::Moe, {
        {"ffn_gate_inp.weight",  kLayer, K::Matrix,      {D::Embd, D::Expert},           kReq, S::Router, R::Router},
        {"ffn_gate_exps.weight", kLayer, K::ExpertStack, {D::Embd, D::FfExp, D::Expert}, kReq, S::GateExps, R::FfnGateExps},
        {"ffn_up_exps.weight",   kLayer, K::ExpertStack, {D::Embd, D::FfExp, D::Expert}, kReq, S::UpExps, R::FfnUpExps},
        {"ffn_down_exps.weight", kLayer, K::ExpertStack, {D::FfExp, D::Embd, D::Expert}, kReq, S::DownExps, R::FfnDownExps}}},
    {G::MoeBiases, {
        {"ffn_gate_inp.bias",  kLayer, K::Vector,        {D::Expert},            kReq, S::RouterBias, R::Bias},
        {"ffn_gate_exps.bias", kLayer, K::ExpertVectors, {D::FfExp, D::Expert}, kReq, S::GateExpsBias, R::Bias},
        {"ffn_up_exps.bias",   kLayer, K::ExpertVectors, {D::FfExp, D::Expert}, kReq, S::UpExpsBias, R::Bias},
        {"ffn_down_exps.bias", kLayer, K::ExpertVectors, {D::Embd, D::Expert},  kReq, S::DownExpsBias, R::Bias}}},
    {G::MoeShared, {
        {"ffn_gate_inp_shexp.weight", kLayer, K::Vector, {D::Embd},             kReq, S::ShexpGate, R::Router},
        {"ffn_gate_shexp.weight",     kLayer, K::Matrix, {D::Embd, D::FfShexp}, kReq, S::GateShexp, R::FfnGateShexp},
        {"ffn_up_shexp.weight",       kLayer, K::Matrix, {D::Embd, D::FfShexp}, kReq, S::UpShexp, R::FfnUpShexp},
        {"ffn_down_shexp.weight",     kLayer, K::Matrix, {D::FfShexp, D::Embd}, kReq, S::DownShexp, R::FfnDownShexp}}},
    {G::DeltaNet, {
        {"attn_qkv.weight",   kLayer, K::Matrix,     {D::Embd, D::SsmChannels},    kReq, S::SsmQkv, R::AttnQkv},
        {"attn_gate.weight",  kLayer, K::Matrix,     {D::Embd, D::SsmInner},       kReq, S::SsmZ, R::SsmIn},
        {"ssm_conv1d.weight", kLayer, K::FloatTable, {D::SsmConv, D::SsmChannels}, kReq, S::SsmConv, R::Other},
        {"ssm_dt.bias",       kLayer, K::Vector,     {D::SsmVHeads},               kReq, S::SsmDtBias, R::Bias},
        {"ssm_a",             kLayer, K::Vector,     {D::SsmVHeads},               kReq, S::SsmA, R::Other},
        {"ssm_beta.weight",   kLayer, K::Matrix,     {D::Embd, D::SsmVHeads},      kReq, S::SsmBeta, R::SsmIn},
        {"ssm_alpha.weight",  kLayer, K::Matrix,     {D::Embd, D::SsmVHeads},      kReq, S::SsmAlpha, R::SsmIn},
        {"ssm_norm.weight",   kLayer, K::Vector,     {D::SsmState},                kReq, S::SsmNorm, R::Norm},
        {"ssm_out.weight",    kLayer, K::Matrix,     {D::SsmInner, D::Embd},       kReq, S::SsmOut, R::SsmOut}}},
    {G::LayerOutputScale, {
        {"layer_output_scale.weight", kLayer, K::Vector, {D::One}, kOpt, S::LayerOutScale, R::Other}}},
    {G::PerLayerEmbedding, {
        {"per_layer_token_embd.weight", kGlobal, K::Matrix, {D::PerLayerEmbdAll, D::Vocab}, kReq, S::PleTokenEmbd, R::PleTokenEmbd},
        {"per_layer_model_proj.weight", kGlobal, K::Matrix, {D::Embd, D::PerLayerEmbdAll},  kReq, S::PleModelProj, R::PleProj},
        {"per_layer_proj_norm.weight",  kGlobal, K::Vector, {D::PerLayerEmbd},              kReq, S::PleProjNorm, R::Norm},
        {"inp_gate.weight",  kLayer, K::Matrix, {D::Embd, D::PerLayerEmbd}, kReq, S::PleGate, R::PleProj},
        {"proj.weight",      kLayer, K::Matrix, {D::PerLayerEmbd, D::Embd}, kReq, S::PleProj, R::PleProj},
        {"post_norm.weight", kLayer, K::Vector, {D::Embd},                  kReq, S::PlePostNorm, R::Norm}}},
};

using RS = ops::RopeStyle;
using A = FfnActivation;

const std::vector<ArchSpec> kArchTable = {
    {.name = "llama", .models = "Llama 2/3/3.1/3.2, Mistral, Mixtral (MoE), TinyLlama, SmolLM",
     .rope_style = RS::Adjacent, .ffn = FfnKind::DenseOrMoe, .activation = A::SiLU,
     .groups = {G::Embedding, G::AttnNorm, G::RopeFreqs, G::AttnSeparate, G::AttnBiasOptional, G::FfnNorm, G::FfnDense, G::Moe}},
    {.name = "qwen2", .models = "Qwen2, Qwen2.5",
     .rope_style = RS::Halves, .ffn = FfnKind::Dense, .activation = A::SiLU,
     .groups = {G::Embedding, G::AttnNorm, G::AttnSeparate, G::QkvBias, G::FfnNorm, G::FfnDense}},
    {.name = "qwen3", .models = "Qwen3 (dense)",
     .rope_style = RS::Halves, .ffn = FfnKind::Dense, .activation = A::SiLU,
     .groups = {G::Embedding, G::AttnNorm, G::AttnSeparate, G::AttnBiasOptional, G::QkNorm, G::FfnNorm, G::FfnDense}},
    {.name = "qwen3moe", .models = "Qwen3-30B-A3B, Qwen3-235B-A22B, Qwen3-Coder MoE",
     .rope_style = RS::Halves, .ffn = FfnKind::Moe, .activation = A::SiLU,
     .groups = {G::Embedding, G::AttnNorm, G::AttnSeparate, G::QkNorm, G::FfnNorm, G::Moe}},
    {.name = "gpt-oss", .models = "gpt-oss-20b, gpt-oss-120b",
     .rope_style = RS::Halves, .ffn = FfnKind::Moe, .activation = A::SwiGluOai,
     .window = WindowPattern::EvenLayers,
     .groups = {G::Embedding, G::AttnNorm, G::AttnSeparate, G::AttnBias, G::Sinks, G::FfnNormNamedPostAttention, G::Moe,
                G::MoeBiases}},
    {.name = "gemma3", .models = "Gemma 3 (1B, 4B, 12B, 27B text)",
     .rope_style = RS::Halves, .ffn = FfnKind::Dense, .activation = A::GeluTanh,
     .window = WindowPattern::AllButEveryN, .window_pattern_default = 6, .embd_scale_sqrt = true,
     .local_rope_unscaled = true,
     .groups = {G::Embedding, G::AttnNorm, G::AttnSeparate, G::QkNorm, G::PostNorms, G::FfnNorm, G::FfnDense}},
    {.name = "phi3", .models = "Phi-3, Phi-3.5-mini, Phi-4-mini",
     .rope_style = RS::Halves, .ffn = FfnKind::Dense, .activation = A::SiLU,
     .groups = {G::Embedding, G::AttnNorm, G::LongRope, G::AttnFused, G::FfnNorm, G::FfnFusedUp}},
    // Hybrids: gated delta-net layers, gated attention every full_attention_interval-th layer.
    {.name = "qwen35", .models = "Qwen3.5, Qwen3.6 (dense)",
     .rope_style = RS::Halves, .ffn = FfnKind::Dense, .activation = A::SiLU, .hybrid_recurrent = true,
     .groups = {G::Embedding, G::AttnNorm, G::AttnGatedQ, G::QkNorm, G::DeltaNet, G::FfnNormNamedPostAttention,
                G::FfnDense}},
    {.name = "qwen35moe", .models = "Qwen3.5-35B-A3B, Qwen3.6 MoE",
     .rope_style = RS::Halves, .ffn = FfnKind::Moe, .activation = A::SiLU, .hybrid_recurrent = true,
     .groups = {G::Embedding, G::AttnNorm, G::AttnGatedQ, G::QkNorm, G::DeltaNet, G::FfnNormNamedPostAttention,
                G::Moe, G::MoeShared}},
    // Gemma 4: window layers (own head size, KV heads, rotary width, base) and global layers
    // (proportional rope through rope_freqs), the last layers reusing earlier layers' KV,
    // per-layer embeddings (E2B/E4B), a scalar per layer output, final logit soft-capping.
    {.name = "gemma4", .models = "Gemma 4 (E2B, E4B, 31B; dense)",
     .rope_style = RS::Halves, .ffn = FfnKind::Dense, .activation = A::GeluTanh,
     .window = WindowPattern::AllButEveryN, .window_pattern_default = 6, .embd_scale_sqrt = true,
     .local_rope_unscaled = true, .unit_attention_scale = true, .value_norm = true,
     .groups = {G::Embedding, G::RopeFreqs, G::AttnNorm, G::AttnValueOptional, G::QkNorm, G::PostNorms, G::FfnNorm,
                G::FfnDense, G::LayerOutputScale, G::PerLayerEmbedding}},
    // Sized by `hearth fit`; running it needs attention and final-logit soft-capping.
    {.name = "gemma2", .models = "Gemma 2 (sizing only)",
     .rope_style = RS::Halves, .ffn = FfnKind::Dense, .activation = A::GeluTanh,
     .window = WindowPattern::AllButEveryN, .window_pattern_default = 2, .embd_scale_sqrt = true,
     .groups = {G::Embedding, G::AttnNorm, G::AttnSeparate, G::PostNorms, G::FfnNorm, G::FfnDense}, .runnable = false},
};
// clang-format on

const std::vector<TensorSpec>& rows_of(TensorGroup g) {
    for (const GroupRows& gr : kGroups)
        if (gr.group == g) return gr.rows;
    fail("internal: tensor group {} has no rows", static_cast<int>(g));
}

// Dense FFN groups apply to dense models, expert groups to MoE ones (llama holds both).
bool group_applies(TensorGroup g, const HParams& hp) {
    const bool moe_group = g == G::Moe || g == G::MoeBiases || g == G::MoeShared;
    const bool dense_group = g == G::FfnDense || g == G::FfnFusedUp;
    if (g == G::PerLayerEmbedding) return hp.n_embd_per_layer > 0;
    if (moe_group) return hp.is_moe();
    if (dense_group) return !hp.is_moe();
    return true;
}

}  // namespace

bool group_in_layer(TensorGroup g, LayerKind kind) {
    switch (g) {
        case G::AttnSeparate: case G::AttnGatedQ: case G::AttnFused: case G::AttnValueOptional:
        case G::AttnBiasOptional: case G::AttnBias:
        case G::QkvBias: case G::QkNorm: case G::Sinks:
            return kind == LayerKind::Attention;
        case G::DeltaNet:
            return kind == LayerKind::Recurrent;
        default:
            return true;
    }
}

bool ArchSpec::has(TensorGroup g) const { return std::find(groups.begin(), groups.end(), g) != groups.end(); }

const ArchSpec* find_arch(std::string_view name) {
    for (const ArchSpec& a : kArchTable)
        if (a.name == name) return &a;
    return nullptr;
}

std::span<const ArchSpec> arch_table() { return kArchTable; }

std::string supported_architectures() {
    std::string out;
    for (const ArchSpec& a : kArchTable)
        if (a.runnable) out += (out.empty() ? "" : ", ") + std::string(a.name);
    return out;
}

int64_t dim_value(Dim d, const HParams& hp, int il) {
    const LayerGeometry g = hp.geometry(il);
    switch (d) {
        case D::None: return 0;
        case D::Embd: return hp.n_embd;
        case D::Vocab: return hp.n_vocab;
        case D::QWidth: return g.q_width();
        case D::KvWidth: return g.kv_width();
        case D::VWidth: return g.v_width();
        case D::AttnOut: return g.attn_out_width();
        case D::QkvWidth: return int64_t{g.q_width()} + g.kv_width() + g.v_width();
        case D::Ff: return g.n_ff;
        case D::Ff2: return 2 * int64_t{g.n_ff};
        case D::FfExp: return hp.n_ff_exp;
        case D::Expert: return hp.n_expert;
        case D::HeadDim: return g.head_dim;
        case D::Head: return hp.n_head;
        case D::RopeHalf: return hp.rope.n_rot / 2;
        case D::QGateWidth: return 2 * int64_t{hp.q_width()};
        case D::FfShexp: return hp.n_ff_shexp;
        case D::SsmConv: return hp.ssm.conv_kernel;
        case D::SsmChannels: return hp.ssm.conv_channels();
        case D::SsmInner: return hp.ssm.inner();
        case D::SsmVHeads: return hp.ssm.n_v_heads;
        case D::SsmState: return hp.ssm.state_size;
        case D::One: return 1;
        case D::PerLayerEmbd: return hp.n_embd_per_layer;
        case D::PerLayerEmbdAll: return int64_t{hp.n_embd_per_layer} * hp.n_layer;
    }
    return 0;
}

int64_t TensorInstance::n_elements() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
}

namespace {
bool produces_kv(Slot s) { return s == S::Wk || s == S::Wv || s == S::Bk || s == S::Bv || s == S::KNorm; }
}  // namespace

std::vector<TensorInstance> expand_manifest(const HParams& hp,
                                            const std::function<bool(const TensorInstance&)>& want_optional) {
    const ArchSpec& arch = hp.spec();
    std::vector<TensorInstance> out;
    auto add = [&](const TensorSpec& spec, int layer) {
        TensorInstance t;
        t.name = layer < 0 ? std::string(spec.name) : fmt::format("blk.{}.{}", layer, spec.name);
        t.spec = &spec;
        t.layer = layer;
        for (Dim d : spec.ne)
            if (d != D::None) t.dims.push_back(dim_value(d, hp, layer));
        // A layer that reuses another layer's KV (gemma4) need not have its own key/value tensors.
        const bool required = spec.required && !(layer >= 0 && hp.shares_kv(layer) && produces_kv(spec.slot));
        if (required || (want_optional && want_optional(t))) out.push_back(std::move(t));
    };
    for (TensorGroup g : arch.groups)
        if (group_applies(g, hp))
            for (const TensorSpec& spec : rows_of(g))
                if (!spec.per_layer) add(spec, -1);
    for (int il = 0; il < hp.n_layer; ++il)
        for (TensorGroup g : arch.groups)
            if (group_applies(g, hp) && group_in_layer(g, hp.layer_kind(il)))
                for (const TensorSpec& spec : rows_of(g))
                    if (spec.per_layer) add(spec, il);
    return out;
}

namespace {
// "blk.12.attn_q.weight" → "attn_q.weight"; global names unchanged.
std::string_view spec_name_of(std::string_view gguf_name) {
    if (gguf_name.starts_with("blk.")) {
        const size_t dot = gguf_name.find('.', 4);
        if (dot != std::string_view::npos) return gguf_name.substr(dot + 1);
    }
    return gguf_name;
}
}  // namespace

double active_fraction(const TensorSpec& spec, const HParams& hp) {
    const bool routed = spec.kind == TensorKind::ExpertStack || spec.kind == TensorKind::ExpertVectors;
    return routed && hp.n_expert > 0 ? static_cast<double>(hp.n_expert_used) / hp.n_expert : 1.0;
}

const TensorSpec* find_tensor_spec(const ArchSpec& arch, std::string_view gguf_name) {
    const std::string_view name = spec_name_of(gguf_name);
    const bool per_layer = name.size() != gguf_name.size();
    for (TensorGroup g : arch.groups)
        for (const TensorSpec& spec : rows_of(g))
            if (spec.name == name && spec.per_layer == per_layer) return &spec;
    return nullptr;
}

TensorRole tensor_role_of(std::string_view gguf_name) {
    for (const ArchSpec& a : kArchTable)
        if (const TensorSpec* s = find_tensor_spec(a, gguf_name)) return s->role;
    return R::Other;
}

}  // namespace hearth
