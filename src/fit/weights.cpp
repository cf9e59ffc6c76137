#include "fit/weights.h"

#include <cmath>
#include <map>
#include <numeric>

#include "common/error.h"
#include "convert/synth.h"
#include "model/arch.h"

namespace hearth::fit {
namespace {

using convert::TensorRole;

bool is_expert(std::string_view name) { return name.find("_exps") != std::string_view::npos; }

// The per-layer embedding table's name (model/arch.cpp's PerLayerEmbedding group).
constexpr std::string_view kPleTable = "per_layer_token_embd.weight";

// Adds one tensor's bytes (`rows` rows) to the bucket its name belongs to.
void account(WeightLayout& w, std::string_view name, uint64_t bytes, uint64_t n_elements, uint64_t rows) {
    w.n_params += n_elements;
    const int layer = convert::tensor_layer(name);
    if (layer >= 0) {
        if (static_cast<size_t>(layer) >= w.layer_bytes.size()) w.layer_bytes.resize(static_cast<size_t>(layer) + 1, 0);
        w.layer_bytes[static_cast<size_t>(layer)] += bytes;
        if (is_expert(name)) w.expert_bytes += bytes;
    } else if (name == "token_embd.weight") {
        w.embd_bytes += bytes;
    } else if (name == kPleTable) {
        w.ple_embd_bytes += bytes;
        w.ple_embd_row_bytes = rows ? bytes / rows : 0;
    } else if (name == "output.weight" || name == "output_norm.weight") {
        w.output_bytes += bytes;
    } else {
        w.other_bytes += bytes;
    }
}

// Hyperparameters from generic GGUF keys, for architectures the engine cannot run (fit only
// needs sizes).
HParams tolerant_hparams(const gguf::File& f) {
    HParams hp;
    hp.arch_name = f.get_string("general.architecture").value_or("?");
    const std::string a = hp.arch_name + ".";
    auto get = [&](const std::string& key, uint64_t dflt) -> int {
        auto v = f.get_u64(a + key);
        return static_cast<int>(v && *v < (1u << 30) ? *v : dflt);
    };
    hp.n_layer = get("block_count", 0);
    hp.n_embd = get("embedding_length", 0);
    hp.n_ff = get("feed_forward_length", 0);
    hp.n_head = get("attention.head_count", 1);
    hp.n_head_kv = get("attention.head_count_kv", static_cast<uint64_t>(hp.n_head));
    hp.head_dim = get("attention.key_length", static_cast<uint64_t>(hp.n_head ? hp.n_embd / hp.n_head : 0));
    hp.head_dim_v = get("attention.value_length", static_cast<uint64_t>(hp.head_dim));
    hp.n_ctx_train = get("context_length", 4096);
    if (const auto* t = f.find_tensor("token_embd.weight"); t && t->dims.size() >= 2)
        hp.n_vocab = static_cast<int>(t->dims[1]);
    hp.rope.n_rot = hp.head_dim;
    if (hp.n_layer <= 0 || hp.n_embd <= 0)
        fail("{}: no {}block_count/embedding_length metadata: cannot size the KV cache", f.path(), a);
    return hp;
}

HParams hparams_of(const CatalogueModel& m) {
    // Per-layer geometry (gemma4) is the synth preset's: the table's scalars cannot hold it.
    if (!m.synth_preset.empty()) return convert::preset_hparams(convert::find_model_preset(m.synth_preset));
    HParams hp;
    hp.arch = find_arch(m.arch);
    hp.arch_name = std::string(m.arch);
    hp.n_vocab = m.n_vocab;
    hp.n_ctx_train = m.n_ctx;
    hp.n_embd = m.n_embd;
    hp.n_layer = m.n_layer;
    hp.n_head = m.n_head;
    hp.n_head_kv = m.n_head_kv;
    hp.head_dim = hp.head_dim_v = m.head_dim;
    if (m.n_expert > 0) {
        hp.n_expert = m.n_expert;
        hp.n_expert_used = m.n_expert_used;
        hp.n_ff_exp = m.n_ff;
    } else {
        hp.n_ff = m.n_ff;
    }
    hp.rope.n_rot = m.head_dim;
    hp.n_ff_shexp = m.n_ff_shexp;
    if (m.ssm_state > 0) {
        hp.ssm = {m.ssm_conv_kernel, m.ssm_state, m.ssm_k_heads, m.ssm_v_heads};
        hp.recurrent_layers = hybrid_layer_pattern(m.n_layer, m.full_attention_interval);
        hp.rope.n_rot = m.head_dim / 4;  // partial rotary factor 0.25
    }
    if (hp.arch) derive_hparams(hp);
    return hp;
}

// Every tensor llama.cpp's converter writes for the model: its family's manifest, with the
// optional tensors these models have (an untied head, llama3's rope factors, LongRoPE factors
// of the 128k-context Phi models).
std::vector<TensorInstance> tensors_of(const CatalogueModel& m, const HParams& hp) {
    if (!hp.arch) fail("internal: catalogue model {} has architecture '{}' without a manifest", m.name, m.arch);
    if (!m.synth_preset.empty()) {  // the optional tensors `hearth synth` writes for it
        const convert::ModelPreset& p = convert::find_model_preset(m.synth_preset);
        return expand_manifest(hp, [&](const TensorInstance& t) { return convert::preset_has_tensor(p, hp, t); });
    }
    return expand_manifest(hp, [&](const TensorInstance& t) {
        switch (t.spec->slot) {
            case Slot::Output: return !m.tied_embeddings;
            case Slot::RopeFreqs: return m.arch == "llama" && m.n_vocab == 128256;
            case Slot::RopeFactorsShort: case Slot::RopeFactorsLong: return m.arch == "phi3" && m.n_ctx >= 131072;
            default: return false;
        }
    });
}

}  // namespace

uint64_t malloc_chunk_bytes(uint64_t n) { return std::max<uint64_t>(32, (n + 8 + 15) & ~uint64_t{15}); }

uint64_t string_heap_bytes(uint64_t length) { return length > 15 ? malloc_chunk_bytes(length + 1) : 0; }

namespace {
uint64_t value_heap_bytes(const gguf::Value& v) {
    uint64_t bytes = string_heap_bytes(v.str.size());
    if (!v.array.empty()) bytes += malloc_chunk_bytes(v.array.size() * sizeof(gguf::Value));
    for (const gguf::Value& e : v.array) bytes += value_heap_bytes(e);
    return bytes;
}
}  // namespace

uint64_t metadata_heap_bytes(const gguf::File& file) {
    uint64_t bytes = malloc_chunk_bytes(file.metadata().size() * sizeof(gguf::KeyValue));
    for (const gguf::KeyValue& kv : file.metadata()) bytes += string_heap_bytes(kv.key.size()) + value_heap_bytes(kv.value);
    return bytes;
}

uint64_t WeightLayout::weights_bytes() const {
    return embd_bytes + ple_embd_bytes + output_bytes + other_bytes + std::accumulate(layer_bytes.begin(), layer_bytes.end(), uint64_t{0});
}

uint64_t WeightLayout::active_bytes_per_token() const {
    uint64_t bytes = weights_bytes();
    if (!tied_embeddings) bytes -= embd_bytes;  // one row of it: negligible
    bytes -= ple_embd_bytes - ple_embd_row_bytes;  // one token's row (n_layer × n_embd_per_layer values)
    if (n_expert > 0 && expert_bytes > 0)
        bytes -= expert_bytes - expert_bytes * static_cast<uint64_t>(n_expert_used) / static_cast<uint64_t>(n_expert);
    return bytes;
}

double WeightLayout::flops_per_token() const {
    double params = static_cast<double>(n_params);
    if (!tied_embeddings && hp.n_vocab > 0) params -= static_cast<double>(hp.n_vocab) * hp.n_embd;
    if (ple_embd_bytes > 0) params -= static_cast<double>(hp.n_vocab) * hp.n_layer * hp.n_embd_per_layer;
    if (n_expert > 0 && weights_bytes() > 0)
        params *= static_cast<double>(active_bytes_per_token()) / static_cast<double>(weights_bytes());
    return 2.0 * params;
}

WeightLayout layout_from_file(const gguf::File& file) {
    WeightLayout w;
    w.source = file.path();
    try {
        w.hp = read_hparams(file);
    } catch (const Error&) {
        w.hp = tolerant_hparams(file);
    }
    const std::string a = w.hp.arch_name + ".";
    w.n_expert = static_cast<int>(file.get_u64(a + "expert_count").value_or(0));
    w.n_expert_used = static_cast<int>(file.get_u64(a + "expert_used_count").value_or(0));
    w.tied_embeddings = file.find_tensor("output.weight") == nullptr;
    for (const gguf::TensorInfo& t : file.tensors()) w.present.insert(t.name);
    w.header_bytes = file.data_offset();
    w.layer_bytes.assign(static_cast<size_t>(std::max(w.hp.n_layer, 0)), 0);
    std::map<std::string, uint64_t> by_type;
    for (const gguf::TensorInfo& t : file.tensors()) {
        const uint64_t rows = static_cast<uint64_t>(t.n_elements / std::max<int64_t>(t.row_length(), 1));
        account(w, t.name, t.n_bytes, static_cast<uint64_t>(t.n_elements), rows);
        if (t.dims.size() >= 2) by_type[t.traits->name] += t.n_bytes;
    }
    uint64_t best = 0;
    for (const auto& [name, bytes] : by_type)
        if (bytes > best) best = bytes, w.quant = name;
    if (const gguf::Value* merges = file.find("tokenizer.ggml.merges")) w.n_merges = merges->array.size();
    if (const gguf::Value* tokens = file.find("tokenizer.ggml.tokens")) {
        if (w.hp.n_vocab <= 0) w.hp.n_vocab = static_cast<int>(tokens->array.size());
        for (const gguf::Value& t : tokens->array) w.n_piece_bytes += string_heap_bytes(t.str.size());
    }
    if (w.hp.n_vocab <= 0)
        if (const auto* t = file.find_tensor("token_embd.weight"); t && t->dims.size() >= 2)
            w.hp.n_vocab = static_cast<int>(t->dims[1]);
    w.metadata_heap_bytes = metadata_heap_bytes(file);
    return w;
}

WeightLayout layout_from_catalogue(const CatalogueModel& m, const convert::QuantMix& mix) {
    WeightLayout w;
    w.source = std::string(m.name);
    w.quant = std::string(mix.name);
    w.hp = hparams_of(m);
    w.n_expert = m.n_expert;
    w.n_expert_used = m.n_expert_used;
    w.tied_embeddings = m.tied_embeddings;
    w.layer_bytes.assign(static_cast<size_t>(m.n_layer), 0);
    convert::ModelShape shape;
    shape.n_layer = m.n_layer;
    shape.n_gqa = m.n_head / m.n_head_kv;
    shape.tied_embeddings = m.tied_embeddings;
    shape.n_expert = m.n_expert;
    shape.is_70b = m.n_layer == 80;
    for (const TensorInstance& t : tensors_of(m, w.hp)) {
        const int64_t n = std::accumulate(t.dims.begin(), t.dims.end(), int64_t{1}, std::multiplies<>());
        TensorType type = TensorType::F32;
        if (convert::is_quantizable(t.name, t.dims.size()))
            type = convert::choose_tensor_type(mix, t.name, t.dims[0], shape, false);
        const TypeTraits& tr = type_traits(type);
        const uint64_t bytes = static_cast<uint64_t>(n / t.dims[0]) * row_bytes(tr, t.dims[0]);
        account(w, t.name, bytes, static_cast<uint64_t>(n), static_cast<uint64_t>(n / t.dims[0]));
        w.present.insert(t.name);
    }
    // Metadata of a typical file: the vocabulary strings dominate (~10 bytes per token, more
    // with merges).
    w.header_bytes = static_cast<uint64_t>(m.n_vocab) * 24 + 65536;
    return w;
}

WeightLayout layout_from_params(const ParamsShape& s, const convert::QuantMix& mix) {
    if (!(s.n_params > 0) || s.n_params > 1e15) fail("--params must be a positive parameter count of at most 1000T");
    if (s.n_layer > 100000 || s.n_embd > (1 << 20) || s.n_head_kv > 65536 || s.head_dim > 65536)
        fail("--layers/--hidden/--kv-heads/--head-dim: values beyond any model (layers <= 100000, hidden <= 1048576, "
             "kv heads and head dim <= 65536)");
    // The catalogue's dense model nearest in size gives the mix's bytes per weight and the
    // shape details not stated.
    WeightLayout base;
    double best = 1e300;
    for (const CatalogueModel& m : catalogue_models()) {
        if (m.n_expert > 0) continue;
        if (!m.synth_preset.empty()) continue;  // per-layer geometry: the shape flags could not override it
        WeightLayout l = layout_from_catalogue(m, mix);
        const double d = std::fabs(std::log(static_cast<double>(l.n_params) / s.n_params));
        if (d < best) best = d, base = std::move(l);
    }
    WeightLayout w = base;
    const double scale = s.n_params / static_cast<double>(base.n_params);
    w.source = fmt::format("{:.1f}B-parameter dense model", s.n_params / 1e9);
    auto scaled = [&](uint64_t b) { return static_cast<uint64_t>(std::llround(static_cast<double>(b) * scale)); };
    w.embd_bytes = scaled(base.embd_bytes);
    w.output_bytes = scaled(base.output_bytes);
    w.other_bytes = scaled(base.other_bytes);
    w.n_params = static_cast<uint64_t>(std::llround(s.n_params));
    const uint64_t layers_total = scaled(std::accumulate(base.layer_bytes.begin(), base.layer_bytes.end(), uint64_t{0}));
    if (s.n_layer > 0) w.hp.n_layer = s.n_layer;
    if (s.n_embd > 0) w.hp.n_embd = s.n_embd;
    if (s.n_head_kv > 0) w.hp.n_head_kv = s.n_head_kv;
    if (s.head_dim > 0) w.hp.head_dim = w.hp.head_dim_v = s.head_dim;
    if (s.n_ctx > 0) w.hp.n_ctx_train = s.n_ctx;
    if (w.hp.n_head_kv > w.hp.n_head) w.hp.n_head = w.hp.n_head_kv;
    w.layer_bytes.assign(static_cast<size_t>(w.hp.n_layer), layers_total / static_cast<uint64_t>(w.hp.n_layer));
    w.other_bytes += layers_total % static_cast<uint64_t>(w.hp.n_layer);
    w.quant = std::string(mix.name);
    return w;
}

double parse_param_count(std::string_view text) {
    std::string s(text);
    double mult = 1;
    if (!s.empty()) {
        const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
        if (c == 'K') mult = 1e3;
        else if (c == 'M') mult = 1e6;
        else if (c == 'B' || c == 'G') mult = 1e9;
        else if (c == 'T') mult = 1e12;
        if (mult != 1) s.pop_back();
    }
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(s, &used);
    } catch (...) {
        used = 0;
    }
    if (s.empty() || used != s.size() || !(v > 0) || !std::isfinite(v) || v * mult > 1e15)
        fail("--params: expected a parameter count such as 70.6B, 8b or 500M (at most 1000T), got '{}'", text);
    return v * mult;
}

}  // namespace hearth::fit
