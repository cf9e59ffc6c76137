#include "convert/quant_mix.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/error.h"
#include "gguf/quantization.h"
#include "model/arch.h"

namespace hearth::convert {
namespace {

using T = TensorType;

constexpr QuantMix kMixes[] = {
    {"F32", T::F32, "32-bit floats"},
    {"F16", T::F16, "16-bit IEEE halves"},
    {"BF16", T::BF16, "16-bit bfloat16"},
    {"Q8_0", T::Q8_0, "8-bit, blocks of 32"},
    {"Q6_K", T::Q6_K, "6-bit K-quant"},
    {"Q5_1", T::Q5_1, "5-bit with min, blocks of 32"},
    {"Q5_0", T::Q5_0, "5-bit, blocks of 32"},
    {"Q5_K_M", T::Q5_K, "Q5_K; attn_v and ffn_down of a third of the layers Q6_K"},
    {"Q5_K_S", T::Q5_K, "Q5_K throughout"},
    {"Q4_1", T::Q4_1, "4-bit with min, blocks of 32"},
    {"Q4_0", T::Q4_0, "4-bit, blocks of 32"},
    {"Q4_K_M", T::Q4_K, "Q4_K; attn_v and ffn_down of a third of the layers Q6_K"},
    {"Q4_K_S", T::Q4_K, "Q4_K; first attn_v and ffn_down layers Q5_K"},
    {"Q3_K_L", T::Q3_K, "Q3_K; attn_v, attn_output, ffn_down Q5_K"},
    {"Q3_K_M", T::Q3_K, "Q3_K; attn_v Q4_K/Q5_K, attn_output and ffn_down Q4_K/Q5_K"},
    {"Q3_K_S", T::Q3_K, "Q3_K throughout"},
    {"Q2_K", T::Q2_K, "Q2_K; attn_v Q3_K/Q4_K, attn_output and ffn_down Q3_K"},
    {"Q2_K_S", T::Q2_K, "Q2_K; attn_v Q4_K with GQA, first ffn_down layers Q4_K"},
    {"IQ4_NL", T::IQ4_NL, "4-bit non-linear, blocks of 32; attn_v Q5_K with GQA"},
    {"IQ4_XS", T::IQ4_XS, "4-bit non-linear, 6-bit scales per 32, 4.25 bpw; attn_v Q5_K with GQA"},
    {"MXFP4", T::Q8_0, "MoE experts (*_exps) MXFP4 (4-bit E2M1, power-of-two scales), the rest Q8_0", T::MXFP4,
     "MXFP4_MOE"},
};

struct Alias {
    std::string_view alias, name;
};
constexpr Alias kAliases[] = {
    {"Q3_K", "Q3_K_M"}, {"Q4_K", "Q4_K_M"}, {"Q5_K", "Q5_K_M"}, {"MXFP4_MOE", "MXFP4"}};

// When a rule applies, given the layer index i of n layers and the model's GQA factor.
enum class When {
    Always,
    MoreBits,     // the first and last eighth of the layers and every third one between
    FirstEighth,  // i < n/8
    FirstSixteenth,
    FirstTwo,     // i < 2
    FirstFour,    // i < 4
    Gqa4,         // 4 or more query heads per KV head
};

struct Rule {
    std::string_view mix;
    TensorRole role;
    When when;
    TensorType type;
};

// Per-role promotions (first match per mix and role wins; no match: the base type). The
// output head (and a tied token embedding) is handled before the table: Q6_K for every
// quantized mix except Q8_0, which keeps Q8_0.
constexpr Rule kRules[] = {
    {"Q2_K", TensorRole::AttnV, When::Gqa4, T::Q4_K},
    {"Q2_K", TensorRole::AttnV, When::Always, T::Q3_K},
    {"Q2_K", TensorRole::FfnDown, When::Always, T::Q3_K},
    {"Q2_K", TensorRole::AttnOutput, When::Always, T::Q3_K},
    {"Q2_K_S", TensorRole::AttnV, When::Gqa4, T::Q4_K},
    {"Q2_K_S", TensorRole::FfnDown, When::FirstEighth, T::Q4_K},
    {"Q3_K_M", TensorRole::AttnV, When::FirstTwo, T::Q5_K},
    {"Q3_K_M", TensorRole::AttnV, When::Always, T::Q4_K},
    {"Q3_K_M", TensorRole::FfnDown, When::FirstSixteenth, T::Q5_K},
    {"Q3_K_M", TensorRole::FfnDown, When::Always, T::Q4_K},
    {"Q3_K_M", TensorRole::AttnOutput, When::Always, T::Q4_K},
    {"Q3_K_L", TensorRole::AttnV, When::Always, T::Q5_K},
    {"Q3_K_L", TensorRole::FfnDown, When::Always, T::Q5_K},
    {"Q3_K_L", TensorRole::AttnOutput, When::Always, T::Q5_K},
    {"Q4_K_S", TensorRole::AttnV, When::FirstFour, T::Q5_K},
    {"Q4_K_S", TensorRole::FfnDown, When::FirstEighth, T::Q5_K},
    {"Q4_K_M", TensorRole::AttnV, When::MoreBits, T::Q6_K},
    {"Q4_K_M", TensorRole::FfnDown, When::MoreBits, T::Q6_K},
    {"Q5_K_M", TensorRole::AttnV, When::MoreBits, T::Q6_K},
    {"Q5_K_M", TensorRole::FfnDown, When::MoreBits, T::Q6_K},
    {"IQ4_NL", TensorRole::AttnV, When::Gqa4, T::Q5_K},
    {"IQ4_XS", TensorRole::AttnV, When::Gqa4, T::Q5_K},
};

bool holds(When when, int i, int n, int n_gqa) {
    switch (when) {
        case When::Always: return true;
        case When::MoreBits: return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
        case When::FirstEighth: return i < n / 8;
        case When::FirstSixteenth: return i < n / 16;
        case When::FirstTwo: return i < 2;
        case When::FirstFour: return i < 4;
        case When::Gqa4: return n_gqa >= 4;
    }
    return false;
}

bool is_quantized(TensorType t) { return t != T::F32 && t != T::F16 && t != T::BF16; }

std::string upper(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return r;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

uint32_t QuantMix::file_type() const {
    const std::string_view label = file_type_name.empty() ? name : file_type_name;
    const std::optional<uint64_t> value = gguf::file_type_value(label);
    if (!value) fail("internal: quantization mix {} has no llama.cpp file type named '{}'", name, label);
    return static_cast<uint32_t>(*value);
}

std::span<const QuantMix> quant_mixes() { return kMixes; }

std::string quant_mix_names() {
    std::string out;
    for (const QuantMix& m : kMixes) {
        if (!out.empty()) out += ", ";
        out += m.name;
    }
    return out;
}

std::string quant_mix_help() {
    std::string out = "types:\n";
    for (const QuantMix& m : kMixes) out += fmt::format("  {:<7} {}\n", m.name, m.description);
    out +=
        "Q3_K, Q4_K, Q5_K mean the _M mixes (as in llama-quantize). Every quantized mix except Q8_0 puts the\n"
        "output head (or a tied token_embd) in Q6_K. Rows that are not whole blocks fall back as llama-quantize\n"
        "does: Q2_K/Q3_K -> Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0 (F16 when not a multiple of 32).\n"
        "IQ4_XS rows that are not whole 256-blocks fall back to IQ4_NL. MXFP4 (alias MXFP4_MOE): expert stacks\n"
        "(*_exps) MXFP4, everything else as the Q8_0 mix.\n"
        "--pure: every weight matrix gets the base type (expert stacks the mix's expert type). 1-D tensors (norms, biases, rope_freqs) stay as they are.";
    return out;
}

const QuantMix& find_quant_mix(std::string_view name) {
    std::string n = upper(name);
    for (const Alias& a : kAliases)
        if (n == a.alias) n = a.name;
    for (const QuantMix& m : kMixes)
        if (n == m.name) return m;
    fail("unknown quantization type '{}' (valid: {}; Q3_K, Q4_K, Q5_K mean the _M mixes)", name,
         quant_mix_names());
}

TensorRole tensor_role(std::string_view name) {
    // The role comes from the architecture manifest; the mix rules group roles as llama-quantize
    // does: a fused QKV projection counts as attention V, expert stacks as their dense FFN part.
    using R = hearth::TensorRole;
    switch (hearth::tensor_role_of(name)) {
        case R::TokenEmbd: return TensorRole::TokenEmbd;
        case R::Output: return TensorRole::Output;
        case R::AttnQ: return TensorRole::AttnQ;
        case R::AttnK: return TensorRole::AttnK;
        case R::AttnV: case R::AttnQkv: return TensorRole::AttnV;
        case R::AttnOutput: return TensorRole::AttnOutput;
        case R::FfnGate: case R::FfnGateExps: return TensorRole::FfnGate;
        case R::FfnUp: case R::FfnUpExps: return TensorRole::FfnUp;
        case R::FfnDown: case R::FfnDownExps: return TensorRole::FfnDown;
        default: return TensorRole::Other;
    }
}

int tensor_layer(std::string_view name) {
    constexpr std::string_view prefix = "blk.";
    if (name.substr(0, prefix.size()) != prefix) return -1;
    int layer = -1;
    const char* begin = name.data() + prefix.size();
    const char* end = name.data() + name.size();
    auto [ptr, ec] = std::from_chars(begin, end, layer);
    if (ec != std::errc() || ptr == begin || ptr == end || *ptr != '.') return -1;
    return layer;
}

bool is_quantizable(std::string_view name, size_t n_dims) {
    // MoE routers stay F32 as llama-quantize keeps them (routing decisions are sensitive); so does
    // ssm_conv1d.
    auto has = [&](std::string_view part) { return name.find(part) != std::string_view::npos; };
    return n_dims >= 2 && ends_with(name, "weight") && !has("_norm.weight") && !has("ffn_gate_inp") &&
           !has("ssm_conv1d.weight");
}

TensorType fallback_type(TensorType type, int64_t row_length) {
    auto fits = [&](TensorType t) { return row_length % type_traits(t).block_size == 0; };
    if (fits(type)) return type;
    TensorType smaller = type;
    switch (type) {
        case T::Q2_K: case T::Q3_K: smaller = T::Q4_0; break;
        case T::Q4_K: smaller = T::Q5_0; break;
        case T::Q5_K: smaller = T::Q5_1; break;
        case T::Q6_K: smaller = T::Q8_0; break;
        case T::IQ4_XS: smaller = T::IQ4_NL; break;
        default: break;  // already a 32-block type
    }
    return fits(smaller) ? smaller : T::F16;
}

TensorType choose_tensor_type(const QuantMix& mix, std::string_view name, int64_t row_length,
                              const ModelShape& shape, bool pure) {
    if (mix.experts && name.find("_exps") != std::string_view::npos) return fallback_type(*mix.experts, row_length);
    TensorType type = mix.base;
    if (!is_quantized(type)) return type;  // float mixes: every weight matrix the same type
    if (!pure) {
        const TensorRole role = tensor_role(name);
        if (role == TensorRole::Output || (role == TensorRole::TokenEmbd && shape.tied_embeddings)) {
            if (row_length % type_traits(type).block_size != 0) type = T::Q8_0;
            else if (type != T::Q8_0) type = T::Q6_K;
        } else {
            const int n = std::max(shape.n_layer, 1);
            const int i = std::max(tensor_layer(name), 0);
            for (const Rule& r : kRules) {
                if (r.mix == mix.name && r.role == role && holds(r.when, i, n, shape.n_gqa)) {
                    type = r.type;
                    break;
                }
            }
            if (role == TensorRole::AttnV && shape.is_70b && (type == T::Q3_K || type == T::Q4_K)) type = T::Q5_K;
            if (shape.n_expert == 8) {
                if (role == TensorRole::AttnV || role == TensorRole::AttnK) type = T::Q8_0;
                const bool low_k = mix.base == T::Q2_K || mix.base == T::Q3_K || mix.base == T::Q4_K;
                if (role == TensorRole::AttnOutput && low_k) type = T::Q5_K;
            }
        }
    }
    return fallback_type(type, row_length);
}

}  // namespace hearth::convert
