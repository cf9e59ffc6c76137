#include "model/hparams.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "common/error.h"

namespace hearth {

const ArchSpec& HParams::spec() const {
    if (!arch) fail("architecture '{}' is not supported (supported: {})", arch_name, supported_architectures());
    return *arch;
}

int HParams::n_attention_layers() const {
    int n = 0;
    for (int il = 0; il < n_layer; ++il) n += layer_kind(il) == LayerKind::Attention;
    return n;
}

LayerGeometry HParams::geometry(int il) const {
    LayerGeometry g{n_head, n_head_kv, head_dim, head_dim_v, n_ff};
    if (il < 0 || il >= n_layer) return g;
    if (uses_window(il)) {
        if (head_dim_swa > 0) g.head_dim = head_dim_swa;
        if (head_dim_v_swa > 0) g.head_dim_v = head_dim_v_swa;
    }
    if (static_cast<size_t>(il) < n_head_kv_layers.size()) g.n_head_kv = n_head_kv_layers[il];
    if (static_cast<size_t>(il) < n_ff_layers.size()) g.n_ff = n_ff_layers[il];
    return g;
}

LayerGeometry HParams::max_geometry() const {
    LayerGeometry m = geometry(-1);
    for (int il = 0; il < n_layer; ++il) {
        const LayerGeometry g = geometry(il);
        m.n_head_kv = std::max(m.n_head_kv, g.n_head_kv);
        m.head_dim = std::max(m.head_dim, g.head_dim);
        m.head_dim_v = std::max(m.head_dim_v, g.head_dim_v);
        m.n_ff = std::max(m.n_ff, g.n_ff);
    }
    return m;
}

int HParams::kv_source(int il) const {
    if (!shares_kv(il)) return il;
    // The last layer before the sharing ones that attends the same way (window or global).
    for (int j = n_layer - n_kv_shared - 1; j >= 0; --j)
        if (uses_window(j) == uses_window(il) && layer_kind(j) == LayerKind::Attention) return j;
    return -1;
}

namespace {

struct Reader {
    const gguf::File& file;
    std::string prefix;  // "llama."

    int required_int(const std::string& key, int min_value) const {
        uint64_t v = file.require_u64(prefix + key);
        if (v < static_cast<uint64_t>(min_value) || v > (1u << 30))
            fail("{}: metadata '{}{}' = {} is out of range", file.path(), prefix, key, v);
        return static_cast<int>(v);
    }
    int optional_int(const std::string& key, int fallback, int min_value = 1) const {
        auto v = file.get_u64(prefix + key);
        if (!v) return fallback;
        if (*v < static_cast<uint64_t>(min_value) || *v > (1u << 30))
            fail("{}: metadata '{}{}' = {} is out of range", file.path(), prefix, key, *v);
        return static_cast<int>(*v);
    }
    // A key that holds one number for every layer or an array of one per layer (empty: absent).
    std::vector<int> per_layer_ints(const std::string& key, int n_layer, int min_value) const {
        const gguf::Value* v = file.find(prefix + key);
        if (!v) return {};
        std::vector<int> out;
        if (v->type == gguf::ValueType::ARRAY) {
            const std::vector<int64_t> values = file.get_i64_array(prefix + key);
            if (values.size() != static_cast<size_t>(n_layer))
                fail("{}: metadata '{}{}' has {} entries for {} layers", file.path(), prefix, key, values.size(),
                     n_layer);
            for (int64_t x : values) {
                if (x < min_value || x > (1 << 30))
                    fail("{}: metadata '{}{}' holds {}, out of range", file.path(), prefix, key, x);
                out.push_back(static_cast<int>(x));
            }
        } else {
            out.assign(static_cast<size_t>(n_layer), required_int(key, min_value));
        }
        return out;
    }
    float optional_float(const std::string& key, float fallback) const {
        auto v = file.get_f64(prefix + key);
        if (!v) return fallback;
        if (!std::isfinite(*v) || *v <= 0)
            fail("{}: metadata '{}{}' = {} must be a positive number", file.path(), prefix, key, *v);
        return static_cast<float>(*v);
    }
};

// The delta-net shape and which layers are recurrent: `attention.recurrent_layers` (one bool
// per layer) when present, else every layer but each `full_attention_interval`-th (default 4).
void read_delta_net(const Reader& r, HParams& hp) {
    const gguf::File& file = r.file;
    hp.ssm.conv_kernel = r.required_int("ssm.conv_kernel", 1);
    hp.ssm.state_size = r.required_int("ssm.state_size", 1);
    hp.ssm.n_k_heads = r.required_int("ssm.group_count", 1);
    hp.ssm.n_v_heads = r.required_int("ssm.time_step_rank", 1);
    const int inner = r.required_int("ssm.inner_size", 1);
    if (int64_t{hp.ssm.n_v_heads} * hp.ssm.state_size != inner)
        fail("{}: {}ssm.inner_size {} is not ssm.time_step_rank {} × ssm.state_size {}", file.path(), r.prefix, inner,
             hp.ssm.n_v_heads, hp.ssm.state_size);
    if (int64_t{hp.ssm.n_v_heads} * hp.ssm.state_size * hp.ssm.state_size > (int64_t{1} << 30) ||
        hp.ssm.conv_kernel > 64)
        fail("{}: {}ssm.* sizes are out of range", file.path(), r.prefix);
    hp.recurrent_layers.assign(static_cast<size_t>(hp.n_layer), false);
    if (file.find(r.prefix + "attention.recurrent_layers")) {
        const std::vector<bool> flags = file.get_bool_array(r.prefix + "attention.recurrent_layers");
        if (flags.size() < static_cast<size_t>(hp.n_layer))
            fail("{}: {}attention.recurrent_layers has {} entries for {} layers", file.path(), r.prefix, flags.size(),
                 hp.n_layer);
        std::copy_n(flags.begin(), hp.n_layer, hp.recurrent_layers.begin());
    } else {
        hp.recurrent_layers = hybrid_layer_pattern(hp.n_layer, r.optional_int("full_attention_interval", 4));
    }
}

// rope.scaling.*: linear (positions divided by the factor) or YaRN (gpt-oss, long-context
// Qwen); llama3-style scaling comes from the rope_freqs tensor and LongRoPE from
// rope_factors_*.
void read_rope_scaling(const Reader& r, HParams& hp) {
    const gguf::File& file = r.file;
    hp.n_ctx_orig = r.optional_int("rope.scaling.original_context_length", 0, 0);
    if (auto type = file.get_string(r.prefix + "rope.scaling.type"); type && *type != "none") {
        const float factor = r.optional_float("rope.scaling.factor", 1.0f);
        if (*type == "linear") {
            hp.rope.freq_scale = 1.0f / factor;
        } else if (*type == "yarn") {
            if (hp.n_ctx_orig <= 0)
                fail("{}: YaRN rope scaling needs {}rope.scaling.original_context_length", file.path(), r.prefix);
            hp.rope.freq_scale = 1.0f / factor;
            hp.rope.yarn_ext_factor = 1.0f;
            hp.rope.yarn_n_ctx_orig = hp.n_ctx_orig;
            hp.rope.yarn_beta_fast = r.optional_float("rope.scaling.yarn_beta_fast", 32.0f);
            hp.rope.yarn_beta_slow = r.optional_float("rope.scaling.yarn_beta_slow", 1.0f);
        } else {
            fail("{}: rope scaling type '{}' is not supported (supported: none, linear, yarn)", file.path(), *type);
        }
    } else if (auto factor = file.get_f64(r.prefix + "rope.scale_linear")) {
        if (!(*factor > 0)) fail("{}: rope.scale_linear = {} must be positive", file.path(), *factor);
        hp.rope.freq_scale = static_cast<float>(1.0 / *factor);
    }
    if (auto af = file.get_f64(r.prefix + "rope.scaling.attn_factor")) {
        if (!(*af > 0) || !std::isfinite(*af))
            fail("{}: {}rope.scaling.attn_factor = {} must be positive", file.path(), r.prefix, *af);
        hp.rope.attn_factor = static_cast<float>(*af);
    }
}

// Window layers' own head sizes and rotary width, KV sharing and per-layer embeddings (gemma4;
// absent keys leave every layer alike).
void read_layer_geometry(const Reader& r, HParams& hp) {
    const gguf::File& file = r.file;
    hp.head_dim_swa = r.optional_int("attention.key_length_swa", 0, 0);
    hp.head_dim_v_swa = r.optional_int("attention.value_length_swa", hp.head_dim_swa, 0);
    if (const int n_rot = r.optional_int("rope.dimension_count_swa", 0, 0); n_rot > 0) {
        const int head = hp.head_dim_swa > 0 ? hp.head_dim_swa : hp.head_dim;
        if (n_rot > head || n_rot % 2 != 0)
            fail("{}: {}rope.dimension_count_swa {} must be even and at most the window layers' head dim {}",
                 file.path(), r.prefix, n_rot, head);
        hp.rope_local.n_rot = n_rot;
    } else if (hp.head_dim_swa > 0) {
        hp.rope_local.n_rot = std::min(hp.rope_local.n_rot, hp.head_dim_swa);
    }
    hp.n_kv_shared = r.optional_int("attention.shared_kv_layers", 0, 0);
    if (hp.n_kv_shared >= hp.n_layer)
        fail("{}: {}attention.shared_kv_layers {} leaves no layer with a KV cache of its own (block_count {})",
             file.path(), r.prefix, hp.n_kv_shared, hp.n_layer);
    for (int il = hp.n_layer - hp.n_kv_shared; il < hp.n_layer; ++il) {
        const int src = hp.kv_source(il);
        if (src < 0)
            fail("{}: layer {} shares KV ({}attention.shared_kv_layers {}) but no earlier {} layer has its own",
                 file.path(), il, r.prefix, hp.n_kv_shared, hp.uses_window(il) ? "window" : "global");
        const LayerGeometry a = hp.geometry(il), b = hp.geometry(src);
        if (a.kv_width() != b.kv_width() || a.v_width() != b.v_width())
            fail("{}: layer {} reads the KV of layer {}, whose KV heads or head size differ", file.path(), il, src);
    }
    hp.n_embd_per_layer = r.optional_int("embedding_length_per_layer_input", 0, 0);
    if (int64_t{hp.n_embd_per_layer} * hp.n_layer > (int64_t{1} << 30))
        fail("{}: {}embedding_length_per_layer_input {} is out of range", file.path(), r.prefix, hp.n_embd_per_layer);
}

}  // namespace

void derive_hparams(HParams& hp, int window_pattern) {
    const ArchSpec& a = hp.spec();
    hp.rope.style = a.rope_style;
    hp.attn_scale = a.unit_attention_scale ? 1.0f : 1.0f / std::sqrt(static_cast<float>(hp.head_dim));
    // Gemma 3 27B scales queries by 1/√(n_embd / n_head) (its query_pre_attn_scalar), not by
    // 1/√head_dim; it is recognised by its 62 layers, as llama.cpp does.
    if (a.name == "gemma3" && hp.n_layer == 62)
        hp.attn_scale = 1.0f / std::sqrt(static_cast<float>(hp.n_embd / hp.n_head));
    hp.embd_scale = a.embd_scale_sqrt ? std::sqrt(static_cast<float>(hp.n_embd)) : 1.0f;
    hp.swa_layers.assign(static_cast<size_t>(hp.n_layer), false);
    if (hp.n_swa > 0) {
        for (int il = 0; il < hp.n_layer; ++il) {
            switch (a.window) {
                case WindowPattern::None: break;
                case WindowPattern::EvenLayers: hp.swa_layers[il] = il % 2 == 0; break;
                case WindowPattern::AllButEveryN: {
                    const int n = window_pattern > 0 ? window_pattern : a.window_pattern_default;
                    hp.swa_layers[il] = n > 1 && il % n < n - 1;
                    break;
                }
            }
        }
        if (a.window == WindowPattern::None) hp.n_swa = 0;
    }
    hp.rope_local = hp.rope;
    if (a.local_rope_unscaled) {
        hp.rope_local.freq_scale = 1.0f;
        hp.rope_local.yarn_ext_factor = 0.0f;
        hp.rope_local.attn_factor = 1.0f;
    }
}

HParams read_hparams(const gguf::File& file) {
    HParams hp;
    hp.arch_name = file.require_string("general.architecture");
    hp.arch = find_arch(hp.arch_name);
    if (!hp.arch)
        fail("{}: unsupported architecture '{}' (supported: {})", file.path(), hp.arch_name,
             supported_architectures());
    const ArchSpec& a = *hp.arch;
    if (!a.runnable)
        fail("{}: architecture '{}' can be sized (`hearth fit`) but not run yet (supported: {})", file.path(),
             hp.arch_name, supported_architectures());

    Reader r{file, hp.arch_name + "."};
    hp.n_embd = r.required_int("embedding_length", 1);
    hp.n_layer = r.required_int("block_count", 1);
    // Multi-token-prediction blocks (Qwen3.5's nextn layers) follow the trunk; generation does
    // not run them.
    if (const int nextn = r.optional_int("nextn_predict_layers", 0, 0); nextn > 0) {
        if (nextn >= hp.n_layer)
            fail("{}: {}nextn_predict_layers {} leaves no layers of block_count {}", file.path(), r.prefix, nextn,
                 hp.n_layer);
        hp.n_layer -= nextn;
    }
    hp.n_head = r.required_int("attention.head_count", 1);
    // KV heads: one number, or one per layer (gemma4: window and global layers differ).
    hp.n_head_kv_layers = r.per_layer_ints("attention.head_count_kv", hp.n_layer, 1);
    if (hp.n_head_kv_layers.empty()) hp.n_head_kv_layers.assign(static_cast<size_t>(hp.n_layer), hp.n_head);
    for (int n : hp.n_head_kv_layers)
        if (hp.n_head % n != 0)
            fail("{}: attention.head_count {} is not a multiple of head_count_kv {}", file.path(), hp.n_head, n);
    hp.n_head_kv = *std::max_element(hp.n_head_kv_layers.begin(), hp.n_head_kv_layers.end());
    if (std::ranges::all_of(hp.n_head_kv_layers, [&](int n) { return n == hp.n_head_kv; })) hp.n_head_kv_layers.clear();
    hp.n_ctx_train = r.optional_int("context_length", 2048);
    int default_head_dim = hp.n_embd / hp.n_head;
    if (hp.n_embd % hp.n_head != 0 && !file.find(r.prefix + "attention.key_length"))
        fail("{}: embedding_length {} is not a multiple of head_count {}", file.path(), hp.n_embd, hp.n_head);
    hp.head_dim = r.optional_int("attention.key_length", default_head_dim);
    hp.head_dim_v = r.optional_int("attention.value_length", hp.head_dim);
    hp.norm_eps = r.optional_float("attention.layer_norm_rms_epsilon", 1e-5f);

    // Experts: the count and routing width, checked against the FFN kind of the family.
    hp.n_expert = r.optional_int("expert_count", 0, 0);
    if (hp.n_expert > 0) {
        if (a.ffn == FfnKind::Dense)
            fail("{}: {}expert_count is {} but hearth runs '{}' models with a dense FFN only", file.path(), r.prefix,
                 hp.n_expert, hp.arch_name);
        hp.n_expert_used = r.required_int("expert_used_count", 1);
        if (hp.n_expert_used > hp.n_expert)
            fail("{}: {}expert_used_count {} exceeds expert_count {}", file.path(), r.prefix, hp.n_expert_used,
                 hp.n_expert);
        // Mixtral-style files give the expert width as feed_forward_length.
        hp.n_ff_exp = file.find(r.prefix + "expert_feed_forward_length")
                          ? r.required_int("expert_feed_forward_length", 1)
                          : r.required_int("feed_forward_length", 1);
        hp.n_ff = r.optional_int("feed_forward_length", 0, 0);
        if (a.has(TensorGroup::MoeShared)) hp.n_ff_shexp = r.required_int("expert_shared_feed_forward_length", 1);
    } else {
        if (a.ffn == FfnKind::Moe)
            fail("{}: '{}' is a mixture-of-experts architecture but {}expert_count is missing or 0", file.path(),
                 hp.arch_name, r.prefix);
        hp.n_ff_layers = r.per_layer_ints("feed_forward_length", hp.n_layer, 1);
        if (hp.n_ff_layers.empty()) hp.n_ff = r.required_int("feed_forward_length", 1);  // reports it missing
        hp.n_ff = *std::max_element(hp.n_ff_layers.begin(), hp.n_ff_layers.end());
        if (std::ranges::all_of(hp.n_ff_layers, [&](int n) { return n == hp.n_ff; })) hp.n_ff_layers.clear();
    }

    // Widths are products of counts; each must stay an int (the kernels index rows with int).
    for (auto [what, width] : {std::pair{"head_count * key_length", int64_t{hp.n_head} * hp.head_dim},
                               std::pair{"head_count_kv * key_length", int64_t{hp.n_head_kv} * hp.head_dim},
                               std::pair{"head_count * value_length", int64_t{hp.n_head} * hp.head_dim_v},
                               std::pair{"2 * feed_forward_length", 2 * int64_t{hp.n_ff}}})
        if (width > (int64_t{1} << 30)) fail("{}: {}{} = {} is out of range", file.path(), r.prefix, what, width);

    hp.rope.n_rot = r.optional_int("rope.dimension_count", hp.head_dim);
    if (hp.rope.n_rot > hp.head_dim || hp.rope.n_rot % 2 != 0)
        fail("{}: rope.dimension_count {} must be even and at most the head dim {}", file.path(),
             hp.rope.n_rot, hp.head_dim);
    hp.rope.freq_base = r.optional_float("rope.freq_base", 10000.0f);
    read_rope_scaling(r, hp);

    if (a.hybrid_recurrent) read_delta_net(r, hp);

    hp.n_swa = a.window == WindowPattern::None ? 0 : r.optional_int("attention.sliding_window", 0, 0);
    // The window layers: every n-th is global (a number), or one flag per layer (gemma4).
    const gguf::Value* pattern_value = file.find(r.prefix + "attention.sliding_window_pattern");
    const bool pattern_list = pattern_value && pattern_value->type == gguf::ValueType::ARRAY;
    derive_hparams(hp, pattern_list ? 0 : r.optional_int("attention.sliding_window_pattern", 0, 0));
    if (pattern_list && hp.n_swa > 0) {
        const std::vector<bool> flags = file.get_bool_array(r.prefix + "attention.sliding_window_pattern");
        if (flags.size() < static_cast<size_t>(hp.n_layer))
            fail("{}: {}attention.sliding_window_pattern has {} entries for {} layers", file.path(), r.prefix,
                 flags.size(), hp.n_layer);
        std::copy_n(flags.begin(), hp.n_layer, hp.swa_layers.begin());
    }
    if (a.local_rope_unscaled) hp.rope_local.freq_base = r.optional_float("rope.freq_base_swa", 10000.0f);
    read_layer_geometry(r, hp);
    if (auto cap = file.get_f64(r.prefix + "final_logit_softcapping"); cap && *cap != 0) {
        if (!(*cap > 0) || !std::isfinite(*cap))
            fail("{}: {}final_logit_softcapping = {} must be positive", file.path(), r.prefix, *cap);
        hp.final_softcap = static_cast<float>(*cap);
    }
    return hp;
}

std::vector<bool> hybrid_layer_pattern(int n_layer, int full_attention_interval) {
    std::vector<bool> recurrent(static_cast<size_t>(std::max(n_layer, 0)), false);
    for (int il = 0; il < n_layer; ++il)
        recurrent[il] = full_attention_interval > 0 && (il + 1) % full_attention_interval != 0;
    return recurrent;
}

int resolve_context_size(const HParams& hp, int requested) {
    if (requested < 0) fail("-c/--ctx-size must be positive (got {})", requested);
    if (requested == 0) return std::min(hp.n_ctx_train, kDefaultMaxContext);
    return requested;
}

}  // namespace hearth
