#include "model/hparams.h"

#include <cmath>

#include "common/error.h"

namespace hearth {

std::string supported_architectures() { return "llama, qwen2, qwen3"; }

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
    int optional_int(const std::string& key, int fallback) const {
        auto v = file.get_u64(prefix + key);
        if (!v) return fallback;
        if (*v == 0 || *v > (1u << 30))
            fail("{}: metadata '{}{}' = {} is out of range", file.path(), prefix, key, *v);
        return static_cast<int>(*v);
    }
    float optional_float(const std::string& key, float fallback) const {
        auto v = file.get_f64(prefix + key);
        if (!v) return fallback;
        if (!std::isfinite(*v) || *v <= 0)
            fail("{}: metadata '{}{}' = {} must be a positive number", file.path(), prefix, key, *v);
        return static_cast<float>(*v);
    }
};

}  // namespace

HParams read_hparams(const gguf::File& file) {
    HParams hp;
    hp.arch_name = file.require_string("general.architecture");
    if (hp.arch_name == "llama") hp.arch = Architecture::Llama;
    else if (hp.arch_name == "qwen2") hp.arch = Architecture::Qwen2;
    else if (hp.arch_name == "qwen3") hp.arch = Architecture::Qwen3;
    else
        fail("{}: unsupported architecture '{}' (supported: {})", file.path(), hp.arch_name,
             supported_architectures());

    Reader r{file, hp.arch_name + "."};
    hp.n_embd = r.required_int("embedding_length", 1);
    hp.n_layer = r.required_int("block_count", 1);
    hp.n_head = r.required_int("attention.head_count", 1);
    hp.n_head_kv = r.optional_int("attention.head_count_kv", hp.n_head);
    hp.n_ff = r.required_int("feed_forward_length", 1);
    hp.n_ctx_train = r.optional_int("context_length", 2048);
    if (hp.n_head % hp.n_head_kv != 0)
        fail("{}: attention.head_count {} is not a multiple of head_count_kv {}", file.path(),
             hp.n_head, hp.n_head_kv);
    int default_head_dim = hp.n_embd / hp.n_head;
    if (hp.n_embd % hp.n_head != 0 && !file.find(r.prefix + "attention.key_length"))
        fail("{}: embedding_length {} is not a multiple of head_count {}", file.path(), hp.n_embd, hp.n_head);
    hp.head_dim = r.optional_int("attention.key_length", default_head_dim);
    hp.head_dim_v = r.optional_int("attention.value_length", hp.head_dim);
    hp.norm_eps = r.optional_float("attention.layer_norm_rms_epsilon", 1e-5f);

    hp.rope.style = hp.arch == Architecture::Llama ? ops::RopeStyle::Adjacent : ops::RopeStyle::Halves;
    hp.rope.n_rot = r.optional_int("rope.dimension_count", hp.head_dim);
    if (hp.rope.n_rot > hp.head_dim || hp.rope.n_rot % 2 != 0)
        fail("{}: rope.dimension_count {} must be even and at most the head dim {}", file.path(),
             hp.rope.n_rot, hp.head_dim);
    hp.rope.freq_base = r.optional_float("rope.freq_base", 10000.0f);
    if (auto type = file.get_string(r.prefix + "rope.scaling.type"); type && *type != "none") {
        if (*type != "linear")
            fail("{}: rope scaling type '{}' is not supported (supported: none, linear; llama3-style "
                 "scaling comes from the rope_freqs tensor)", file.path(), *type);
        float factor = r.optional_float("rope.scaling.factor", 1.0f);
        hp.rope.freq_scale = 1.0f / factor;
    } else if (auto factor = file.get_f64(r.prefix + "rope.scale_linear")) {
        if (!(*factor > 0)) fail("{}: rope.scale_linear = {} must be positive", file.path(), *factor);
        hp.rope.freq_scale = static_cast<float>(1.0 / *factor);
    }
    hp.has_qkv_bias = hp.arch == Architecture::Qwen2;
    hp.has_qk_norm = hp.arch == Architecture::Qwen3;
    return hp;
}

}  // namespace hearth
