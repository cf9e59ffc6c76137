// hearth info: what is in a GGUF file — architecture, sizes, tensor types, vocabulary, and
// every metadata key (long arrays abbreviated in text; complete in --json).
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "engine/session.h"
#include "gguf/gguf.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "model/memory.h"
#include "tokenizer/tokenizer.h"

namespace hearth::cli {
namespace {

using nlohmann::json;

struct InfoFlags {
    ModelFlag model;
    bool json = false;
    int max_array = 8;
};

json value_to_json(const gguf::Value& v) {
    using gguf::ValueType;
    switch (v.type) {
        case ValueType::STRING: return v.str;
        case ValueType::BOOL: return v.bits != 0;
        case ValueType::F32: case ValueType::F64: return v.real;
        case ValueType::I8: case ValueType::I16: case ValueType::I32: case ValueType::I64:
            return static_cast<int64_t>(v.bits);
        case ValueType::ARRAY: {
            json a = json::array();
            for (const auto& e : v.array) a.push_back(value_to_json(e));
            return a;
        }
        default: return v.bits;
    }
}

std::string quoted(const std::string& s, size_t max_len = 120) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size() && i < max_len; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20) out += fmt::format("\\x{:02x}", c);
        else out += static_cast<char>(c);
    }
    if (s.size() > max_len) out += "…";
    return out + "\"";
}

std::string value_to_text(const gguf::Value& v, int max_array) {
    using gguf::ValueType;
    switch (v.type) {
        case ValueType::STRING: return quoted(v.str);
        case ValueType::BOOL: return v.bits ? "true" : "false";
        case ValueType::F32: case ValueType::F64: return fmt::format("{}", v.real);
        case ValueType::I8: case ValueType::I16: case ValueType::I32: case ValueType::I64:
            return std::to_string(static_cast<int64_t>(v.bits));
        case ValueType::ARRAY: {
            std::string s = fmt::format("[{} × {}]", gguf::value_type_name(v.element_type), v.array.size());
            if (v.array.empty()) return s;
            s += " ";
            size_t shown = std::min<size_t>(v.array.size(), static_cast<size_t>(max_array));
            for (size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + value_to_text(v.array[i], max_array);
            if (shown < v.array.size()) s += ", …";
            return s;
        }
        default: return std::to_string(v.bits);
    }
}

std::string human_bytes(uint64_t b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(b);
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, ++u;
    return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.2f} {}", v, units[u]);
}

std::string human_count(uint64_t n) {
    if (n >= 1000000000ull) return fmt::format("{:.2f}B", n / 1e9);
    if (n >= 1000000ull) return fmt::format("{:.2f}M", n / 1e6);
    if (n >= 1000ull) return fmt::format("{:.2f}K", n / 1e3);
    return std::to_string(n);
}

struct TypeStat {
    int count = 0;
    uint64_t bytes = 0;
    uint64_t elements = 0;
};

int run(const InfoFlags& f) {
    auto file = gguf::File::open(f.model.resolve().path);
    uint64_t n_params = 0, tensor_bytes = 0;
    std::map<std::string, TypeStat> by_type;
    for (const auto& t : file->tensors()) {
        n_params += t.n_elements;
        tensor_bytes += t.n_bytes;
        auto& s = by_type[t.traits->name];
        s.count++, s.bytes += t.n_bytes, s.elements += t.n_elements;
    }
    // The model part is optional: info describes any valid GGUF, and says why a file would not run.
    std::optional<HParams> hp;
    std::string not_runnable;
    try {
        hp = read_hparams(*file);
    } catch (const Error& e) {
        not_runnable = e.what();
    }
    // Parameters one token runs through: all but the experts the router does not pick.
    double active_params = static_cast<double>(n_params);
    if (hp && hp->is_moe()) {
        active_params = 0;
        for (const auto& t : file->tensors()) {
            const TensorSpec* spec = find_tensor_spec(hp->spec(), t.name);
            active_params += static_cast<double>(t.n_elements) * (spec ? active_fraction(*spec, *hp) : 1.0);
        }
    }
    if (not_runnable.empty() && file->tensors().empty())
        not_runnable = "the file has no tensors (a vocabulary-only GGUF)";
    std::unique_ptr<Tokenizer> tok;
    std::string tokenizer_problem;
    try {
        tok = load_tokenizer(*file);
    } catch (const Error& e) {
        tokenizer_problem = e.what();
    }

    if (f.json) {
        json j;
        j["file"] = file->path();
        j["gguf_version"] = file->version();
        j["file_size"] = file->file_size();
        j["alignment"] = file->alignment();
        j["data_offset"] = file->data_offset();
        j["architecture"] = file->get_string("general.architecture").value_or("");
        j["parameters"] = n_params;
        j["active_parameters"] = static_cast<uint64_t>(active_params);
        j["tensor_bytes"] = tensor_bytes;
        j["runnable"] = not_runnable.empty();
        if (!not_runnable.empty()) j["not_runnable_reason"] = not_runnable;
        if (hp) {
            j["hparams"] = {{"context_length", hp->n_ctx_train}, {"embedding_length", hp->n_embd},
                            {"block_count", hp->n_layer}, {"head_count", hp->n_head},
                            {"head_count_kv", hp->n_head_kv}, {"head_dim", hp->head_dim},
                            {"head_dim_v", hp->head_dim_v}, {"feed_forward_length", hp->n_ff},
                            {"rope_dimension_count", hp->rope.n_rot}, {"rope_freq_base", hp->rope.freq_base},
                            {"rms_norm_eps", hp->norm_eps},
                            {"expert_count", hp->n_expert}, {"expert_used_count", hp->n_expert_used},
                            {"expert_feed_forward_length", hp->n_ff_exp}, {"sliding_window", hp->n_swa},
                            {"default_context", resolve_context_size(*hp, 0)}};
            if (hp->is_hybrid()) {
                json kinds = json::array();
                for (int il = 0; il < hp->n_layer; ++il)
                    kinds.push_back(hp->layer_kind(il) == LayerKind::Recurrent ? "delta_net" : "attention");
                j["hparams"]["layer_kinds"] = kinds;
                j["hparams"]["ssm"] = {{"conv_kernel", hp->ssm.conv_kernel}, {"state_size", hp->ssm.state_size},
                                       {"group_count", hp->ssm.n_k_heads}, {"time_step_rank", hp->ssm.n_v_heads},
                                       {"recurrent_state_bytes", memory::recurrent_state_bytes(*hp)}};
            }
            if (hp->head_dim_swa > 0 || hp->n_kv_shared > 0 || hp->n_embd_per_layer > 0) {  // gemma4
                json layers = json::array();
                for (int il = 0; il < hp->n_layer; ++il) {
                    const LayerGeometry g = hp->geometry(il);
                    layers.push_back({{"window", hp->uses_window(il)}, {"head_count_kv", g.n_head_kv},
                                      {"head_dim", g.head_dim}, {"feed_forward_length", g.n_ff},
                                      {"kv_from_layer", hp->kv_source(il)}});
                }
                j["hparams"]["layers"] = layers;
                j["hparams"]["shared_kv_layers"] = hp->n_kv_shared;
                j["hparams"]["embedding_length_per_layer"] = hp->n_embd_per_layer;
            }
            if (hp->final_softcap > 0) j["hparams"]["final_logit_softcapping"] = hp->final_softcap;
        }
        if (tok) {
            const auto& v = tok->vocab();
            json special = json::object();
            auto add = [&](const char* name, TokenId id) {
                if (id != kNoToken) special[name] = {{"id", id}, {"text", v.piece(id)}};
            };
            add("bos", v.special.bos), add("eos", v.special.eos), add("unk", v.special.unk);
            add("pad", v.special.pad), add("sep", v.special.sep), add("eot", v.special.eot);
            add("eom", v.special.eom);
            j["vocab"] = {{"size", v.size()}, {"model", v.model}, {"pre", v.pre}, {"add_bos", v.add_bos},
                          {"add_eos", v.add_eos}, {"special", special}};
        } else {
            j["vocab"] = {{"error", tokenizer_problem}};
        }
        json types = json::array();
        for (const auto& [name, s] : by_type)
            types.push_back({{"type", name}, {"tensors", s.count}, {"bytes", s.bytes}, {"elements", s.elements}});
        j["tensor_types"] = types;
        json tensors = json::array();
        for (const auto& t : file->tensors())
            tensors.push_back({{"name", t.name}, {"type", t.traits->name}, {"shape", t.dims},
                               {"offset", t.offset}, {"bytes", t.n_bytes}});
        j["tensors"] = tensors;
        json meta = json::object();
        for (const auto& kv : file->metadata()) meta[kv.key] = value_to_json(kv.value);
        j["metadata"] = meta;
        std::string out = j.dump(2, ' ', false, json::error_handler_t::replace);
        std::printf("%s\n", out.c_str());
        return 0;
    }

    auto line = [](const char* label, const std::string& value) {
        std::printf("%-15s %s\n", label, value.c_str());
    };
    line("file:", fmt::format("{} (GGUF v{}, {}, alignment {})", file->path(), file->version(),
                              human_bytes(file->file_size()), file->alignment()));
    line("architecture:", file->get_string("general.architecture").value_or("(none)"));
    if (auto name = file->get_string("general.name")) line("name:", *name);
    line("parameters:", fmt::format("{} ({} tensors, {})", human_count(n_params), file->tensors().size(),
                                    human_bytes(tensor_bytes)));
    if (hp && hp->is_moe())
        line("active:", fmt::format("{} parameters per token ({} of {} experts)",
                                    human_count(static_cast<uint64_t>(active_params)), hp->n_expert_used,
                                    hp->n_expert));
    if (hp) {
        line("context:", fmt::format("{} (runs with {} by default)", hp->n_ctx_train, resolve_context_size(*hp, 0)));
        line("embedding:", std::to_string(hp->n_embd));
        if (hp->is_hybrid()) {
            // "RRRA RRRA …": R a gated delta-net layer, A an attention layer, in groups of four.
            std::string pattern;
            for (int il = 0; il < hp->n_layer; ++il) {
                if (il > 0 && il % 4 == 0) pattern += ' ';
                pattern += hp->layer_kind(il) == LayerKind::Recurrent ? 'R' : 'A';
            }
            line("layers:", fmt::format("{}: {} gated delta-net (R), {} attention (A): {}", hp->n_layer,
                                        hp->n_layer - hp->n_attention_layers(), hp->n_attention_layers(), pattern));
            line("delta-net:", fmt::format("{} key / {} value heads of {}, conv {}, state {} per sequence",
                                           hp->ssm.n_k_heads, hp->ssm.n_v_heads, hp->ssm.state_size,
                                           hp->ssm.conv_kernel, human_bytes(memory::recurrent_state_bytes(*hp))));
        } else {
            line("layers:", std::to_string(hp->n_layer));
        }
        if (hp->head_dim_swa > 0 || !hp->n_head_kv_layers.empty()) {  // gemma4: window and global layers differ
            int first_window = -1, first_global = -1;
            for (int il = hp->n_layer - 1; il >= 0; --il) (hp->uses_window(il) ? first_window : first_global) = il;
            auto heads = [&](int il) {
                const LayerGeometry g = hp->geometry(il);
                return fmt::format("{} query, {} kv, head dim {}", hp->n_head, g.n_head_kv, g.head_dim);
            };
            if (first_window >= 0) line("heads:", "window layers " + heads(first_window));
            if (first_global >= 0) line(first_window >= 0 ? "" : "heads:", "global layers " + heads(first_global));
        } else {
            line("heads:", fmt::format("{} query, {} kv (GQA {}:1), head dim {}", hp->n_head, hp->n_head_kv,
                                       hp->n_head / hp->n_head_kv, hp->head_dim));
        }
        if (hp->n_kv_shared > 0)
            line("kv sharing:", fmt::format("the last {} layers reuse the KV of layers {} (window) and {} (global)",
                                            hp->n_kv_shared, hp->kv_source(hp->n_layer - hp->n_kv_shared),
                                            hp->kv_source(hp->n_layer - 1)));
        if (hp->n_embd_per_layer > 0) {
            // The table is memory-mapped and read a row per token (a row holds every layer's embedding).
            const gguf::TensorInfo* table = file->find_tensor("per_layer_token_embd.weight");
            std::string bytes;
            if (table) {
                const int64_t rows = std::max<int64_t>(table->n_elements / std::max<int64_t>(table->row_length(), 1), 1);
                bytes = fmt::format(": table {} ({}), {} read per token", human_bytes(table->n_bytes), table->traits->name,
                                    human_bytes(table->n_bytes / static_cast<uint64_t>(rows)));
            }
            line("per-layer:", fmt::format("embeddings of {} per layer{}", hp->n_embd_per_layer, bytes));
        }
        if (hp->final_softcap > 0) line("soft-cap:", fmt::format("final logits at {}", hp->final_softcap));
        if (hp->is_moe())
            line("experts:", fmt::format("{}, {} per token, width {}", hp->n_expert, hp->n_expert_used, hp->n_ff_exp));
        else
            line("feed-forward:", hp->n_ff_layers.empty() ? std::to_string(hp->n_ff)
                                                            : fmt::format("up to {} (per layer)", hp->n_ff));
        if (hp->n_swa > 0) {
            int local = 0;
            for (bool w : hp->swa_layers) local += w;
            line("window:", fmt::format("{} positions on {} of {} layers", hp->n_swa, local, hp->n_layer));
        }
        line("rope:", fmt::format("base {}, {} dims, {} pairs{}", hp->rope.freq_base, hp->rope.n_rot,
                                  hp->rope.style == ops::RopeStyle::Adjacent ? "adjacent" : "half-split",
                                  file->find_tensor("rope_freqs.weight") ? ", frequency factors (rope_freqs)" : ""));
        if (hp->rope_local.n_rot != hp->rope.n_rot || hp->rope_local.freq_base != hp->rope.freq_base)
            line("rope window:", fmt::format("base {}, {} dims", hp->rope_local.freq_base, hp->rope_local.n_rot));
        line("norm eps:", fmt::format("{}", hp->norm_eps));
    }
    if (!not_runnable.empty()) line("runnable:", "no: " + not_runnable);
    if (tok) {
        const auto& v = tok->vocab();
        line("vocab:", fmt::format("{} tokens, {} tokenizer{}", v.size(), v.model,
                                   v.pre.empty() ? "" : " (pre: " + v.pre + ")"));
        std::string special;
        auto add = [&](const char* name, TokenId id) {
            if (id == kNoToken) return;
            special += fmt::format("{}{} {} {}", special.empty() ? "" : ", ", name, id, quoted(v.piece(id)));
        };
        add("bos", v.special.bos), add("eos", v.special.eos), add("unk", v.special.unk);
        add("pad", v.special.pad), add("eot", v.special.eot), add("eom", v.special.eom);
        line("special:", special.empty() ? "(none)" : special);
        line("adds:", fmt::format("bos {}, eos {}", v.add_bos ? "yes" : "no", v.add_eos ? "yes" : "no"));
    } else {
        line("vocab:", "unusable: " + tokenizer_problem);
    }
    std::printf("tensor types:\n");
    for (const auto& [name, s] : by_type)
        std::printf("  %-6s %5d tensors %12s  %s params\n", name.c_str(), s.count, human_bytes(s.bytes).c_str(),
                    human_count(s.elements).c_str());
    std::printf("metadata (%zu keys):\n", file->metadata().size());
    for (const auto& kv : file->metadata())
        std::printf("  %s = %s\n", kv.key.c_str(), value_to_text(kv.value, f.max_array).c_str());
    return 0;
}

}  // namespace

CommandRunner add_info_command(CLI::App& app) {
    auto flags = std::make_shared<InfoFlags>();
    CLI::App* cmd = app.add_subcommand("info", "describe a GGUF file: architecture, sizes, tensors, vocabulary, metadata");
    flags->model.add(*cmd);
    cmd->add_flag("--json", flags->json, "print one JSON object with everything, arrays complete");
    cmd->add_option("--max-array", flags->max_array, "array elements shown in the text form")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 20));
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
